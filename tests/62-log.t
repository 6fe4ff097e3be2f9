#!/usr/bin/perl
# The log and the audit log under a hostile client: client text cannot forge
# a log line (newlines, ANSI escapes, quotes), refused connections and
# forbidden calls are rate-limited with a count of what was left out, and a
# call refused for the caller's role writes nothing durable (no history for
# the record, none for an id that does not exist).
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use IO::Socket::UNIX;
use JSON::PP;
use Time::HiRes qw(time sleep);

plan skip_all => 'needs root to create a test user (CI runs as root)' if $> != 0;

sub sh { system(@_) == 0 }
sh('groupadd', '--system', 'liut-none') unless getgrnam('liut-none');
unless (getpwnam('liut-agy')) {
	sh('useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '-g', 'liut-none',
	   'liut-agy') or BAIL_OUT('useradd liut-agy failed');
}
my $agy_uid = getpwnam('liut-agy');

my $dir = tempdir('liud-log-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
copy('tests/tools/flood.pl', "$dir/flood.pl") or die;
chmod 0755, "$dir/flood.pl";
open my $cf, '>', "$dir/liud.conf" or die;
print $cf <<"CONF";
socket_mode = "0666"
roles = { admin = { users = { "root" } }, agency = { users = { "$agy_uid" } } }
limits = { connections = 8, admin_reserve = 0 }
log_rate = { lines_per_s = 5, burst = 20 }
CONF
close $cf;
my $d = Liud::start_daemon(dir => $dir, conf => "$dir/liud.conf", clock => '2024-06-01',
			   rules => 'tests/packs/mini');
ok($d->alive, 'daemon up') or BAIL_OUT($d->log_text);
my $n1 = $d->ok_call('act', { action => 'create', params => { text => 'a note' } })->{record}{id};

# Every line of the log is one event: a timestamp (the test clock's, labelled,
# with the real one), a level, a module.
sub lines_ok {
	my ($what) = @_;
	my $ts = qr/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:Z|[+-]\d\d:\d\d)/;
	my @bad = grep { !/^$ts (?:test-clock real=$ts )?(error|warn |info |debug) \w+: / }
		  split /\n/, $d->log_text;
	is(scalar @bad, 0, "$what: every log line is a line of the daemon's") or diag(join("\n", @bad[0 .. 4]));
}

# --- client text cannot forge a line ------------------------------------------------
my $forged = "$dir/nope\n2024-06-01T00:00:00.000Z info  rules: activated how=reload by=root "
	   . "version=evil previous=x dir=/x\e[2K\e[1A\x{202E}\x{85}\" by=root";
my $r = $d->call('rules.reload', { path => $forged });
ok($r->{error}, 'a reload of a folder that does not exist is refused');
lines_ok('a reload path with a newline');
my $log = $d->log_text;
unlike($log, qr/\e/, 'no escape character reaches the log');
unlike($log, qr/^\S+ info  rules: activated how=reload by=root version=evil/m,
       'no forged activation line');
unlike($log, qr/\x{e2}\x{80}\x{ae}|\x{c2}\x{85}/, 'no bidi override or C1 control reaches the log');
like($log, qr/dir="[^"\n]*\\x0A2024-06-01T00:00:00\.000Z info  rules: activated[^\n]*\\x1B\[2K\\x1B\[1A\\u202E\\u0085\\" by=root"/,
     'the path is logged as one quoted value, its controls written as \\xNN and \\uNNNN');

# --- a forbidden call writes nothing durable -------------------------------------------
# (A write waited for: the refused reload's audit entry, written on its
# own, is in before the counts are taken.)
$d->ok_call('act', { action => 'edit', id => $n1, params => { text => 'edited' } });
my $hist = $d->ok_call('history', { id => $n1 })->{entries};
my $audit = $d->ok_call('audit.verify')->{entries};
sub flood {
	my ($params, $n) = @_;
	open my $p, '-|', 'setpriv', '--reuid=liut-agy', '--regid=liut-none', '--clear-groups', 'perl',
		"$dir/flood.pl", $d->{sock}, 'act', encode_json($params), $n or die "setpriv: $!";
	my $line = <$p>;
	close $p;
	return decode_json($line // '{}');
}
my $t0 = time;
my $f1 = flood({ action => 'close', id => $n1 }, 1000);
my $f2 = flood({ action => 'close', id => 'N-999999' }, 1000);
my $secs = time - $t0;
diag(sprintf '2,000 forbidden calls in %.2f s', $secs);
is_deeply($f1, { replies => 1000, codes => { -32001 => 1000 } }, '1,000 closes by an agency user on a record: forbidden');
is_deeply($f2, { replies => 1000, codes => { -32001 => 1000 } }, '1,000 on an id that does not exist: forbidden');
is(scalar @{ $d->ok_call('history', { id => $n1 })->{entries} }, scalar @$hist,
   'the record\'s history has not grown');
is($d->call('history', { id => 'N-999999' })->{error}{code}, -32002, 'the id that does not exist has no history');
my $av = $d->ok_call('audit.verify');
is($av->{entries}, $audit, 'the audit log has not grown');
ok($av->{ok}, 'and verifies');

# --- forbidden calls: logged at a bounded rate, each one counted ------------------------
my @forb = $d->log_text =~ /rpc: forbidden /g;
cmp_ok(scalar @forb, '<=', 20 + 5 * ($secs + 1) + 1,
       scalar(@forb) . ' forbidden lines for 2,000 calls: the burst and the rate');
sleep 1.5; # the bucket refills
$r = $d->call('act', { action => 'create', params => { text => 'x' } }); # root may
my $one = flood({ action => 'close', id => $n1 }, 1);
is_deeply($one->{codes}, { -32001 => 1 }, 'one more forbidden call, after a pause');
$log = $d->log_text;
my @sum = $log =~ /log: (\d+) similar lines suppressed in the last [\d.]+ s kind=forbidden_call/g;
ok(@sum, 'a summary line counts the forbidden lines left out');
@forb = $log =~ /rpc: forbidden /g;
my $total = 0;
$total += $_ for @sum;
is(scalar(@forb) + $total, 2001, 'logged and suppressed lines add up to every forbidden call');
my $m = $d->ok_call('metrics');
my ($mf) = $m =~ /^liud_requests_total\{method="act",outcome="forbidden"\} (\d+)$/m;
is($mf, 2001, 'each forbidden call is counted in the metrics');
like($m, qr/^liud_log_suppressed_total\{kind="forbidden_call"\} $total$/m,
     'and the suppressed lines too');
lines_ok('after the floods');

# --- refused connections: rate-limited too ------------------------------------------------
my @held = map { IO::Socket::UNIX->new(Peer => $d->{sock}, Type => SOCK_STREAM) or die } 1 .. 8;
sleep 0.2;
$t0 = time;
for (1 .. 300) {
	my $s = IO::Socket::UNIX->new(Peer => $d->{sock}, Type => SOCK_STREAM) or next;
	my $l = <$s>;
}
$secs = time - $t0;
my @ref = $d->log_text =~ /connection refused peer_uid/g;
cmp_ok(scalar @ref, '<=', 20 + 5 * ($secs + 1) + 1,
       scalar(@ref) . ' refused-connection lines for 300 refused connections');
sleep 1.5;
{ my $s = IO::Socket::UNIX->new(Peer => $d->{sock}, Type => SOCK_STREAM); my $l = <$s>; }
sleep 0.2;
like($d->log_text, qr/log: \d+ similar lines suppressed in the last [\d.]+ s kind=refused_connection/,
     'with a summary when the bucket reopens');
close $_ for @held;
lines_ok('after the connection flood');
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
