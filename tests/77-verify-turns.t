#!/usr/bin/perl
# audit.verify reads the whole chain and every record: work whose size grows
# with the database, so it runs in slices on the loop like a view.  Other
# clients are answered while it runs; a verify whose client hung up stops;
# a backup whose client hung up stops too and keeps no copy.  Uses the pack
# tests/packs/slice (an import of many records).
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use IO::Select;
use Time::HiRes qw(time sleep);

my $J = Liud::json();
my $tmp = tempdir('liud-vt-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $cf, '>', "$tmp/liud.conf" or die $!;
print $cf "limits = { request_bytes = 8388608 }\n";
close $cf;
my $d = Liud::start_daemon(rules => 'tests/packs/slice', clock => '2024-06-01', conf => "$tmp/liud.conf");
ok($d->alive, 'daemon up with the slice pack');

my $N = $ENV{LIUD_VERIFY_RECORDS} // 20000; # fewer under valgrind
for (my $i = 0; $i < $N; $i += 5000) {
	my $last = $i + 5000 < $N ? $i + 5000 : $N;
	$d->ok_call('import', { action => 'create',
				rows => [ map { { n => $_, text => "item $_ " . ('y' x 200) } } $i + 1 .. $last ] });
}

sub send_req {
	my ($method, $params) = @_;
	my $s = $d->connect;
	print $s $J->encode({ jsonrpc => '2.0', id => 1, method => $method,
			      ($params ? (params => $params) : ()) }), "\n";
	return $s;
}

# The reply on $s, waiting at most $limit seconds (undef when none came).
sub reply_of {
	my ($s, $limit) = @_;
	return undef unless IO::Select->new($s)->can_read($limit);
	my $line = <$s>;
	return $line && $J->decode($line);
}

# --- a client's status is answered while a verify runs ------------------------------
my $t0 = time;
my $whole = $d->ok_call('audit.verify');
my $took = time - $t0;
ok($whole->{ok}, 'the chain and the records verify');
is($whole->{records}{checked}, $N, "every record is checked ($N)");
diag(sprintf 'one audit.verify of %d records: %.2f s', $N, $took);

my ($answered, $before, $rounds) = (0, 0, 0);
for my $round (1 .. 3) {
	$rounds++;
	my $v = send_req('audit.verify');
	sleep 0.05; # the daemon has read the verify before the status comes
	my $ts = time;
	my $st = reply_of(send_req('status'), 60);
	diag(sprintf 'round %d: status answered in %.0f ms during a verify', $round, (time - $ts) * 1000);
	$answered++ if $st && $st->{result};
	# The verify's reply is not there yet: status was not made to wait for it.
	my $early = !IO::Select->new($v)->can_read(0);
	my $r = reply_of($v, 60);
	ok($r && $r->{result} && $r->{result}{ok}, "round $round: the verify ends and holds");
	$before++ if $early;
	last if $before;
}
is($answered, $rounds, 'every status during a verify is answered');
ok($before, 'a status sent after a verify began is answered before the verify ends');

# --- writes between its slices are not taken for changes made outside --------------
{
	my $v = send_req('audit.verify');
	sleep 0.05;
	my $made = 0;
	for my $i (1 .. 20) {
		my $r = $d->call('act', { action => 'create', params => { n => $N + $i, text => "late $i" } });
		$made++ if $r->{result};
	}
	my $r = reply_of($v, 60);
	is($made, 20, 'records created while a verify runs');
	ok($r && $r->{result} && $r->{result}{ok}, '... and the verify still holds')
		or diag($J->encode($r));
	is_deeply($r && $r->{result}{records}{differ}, [], '... naming no record');
}

# --- a verify whose client hung up stops ----------------------------------------------
{
	my $s = send_req('audit.verify');
	sleep 0.05;
	close $s;
	my $deadline = time + 10;
	sleep 0.1 while time < $deadline && $d->log_text !~ /audit\.verify cancelled/;
	like($d->log_text, qr/rpc: audit\.verify cancelled, the client hung up.*records_checked=\d+/,
	     'the log says the abandoned verify was cancelled, and how far it came');
	my $st = $d->call('status');
	ok($st->{result}, 'the daemon still serves');
}

# --- a backup whose client hung up stops, and keeps nothing -----------------------------
{
	my $s = send_req('backup', { path => "$tmp/gone" });
	close $s;
	my $deadline = time + 20;
	sleep 0.1 while time < $deadline && $d->log_text !~ /backup: (cancelled|written)/;
	like($d->log_text, qr/backup: cancelled, the client hung up path=\S+gone/,
	     'the log says the abandoned backup was cancelled');
	ok(!-e "$tmp/gone/data.mdb", 'no copy is kept');
	ok(!-e "$tmp/gone/data.mdb.partial", 'no partial copy is left');
	my $b = $d->ok_call('backup', { path => "$tmp/kept" });
	cmp_ok($b->{verified}{audit_entries}, '>=', $whole->{entries},
	       'a backup whose client waits is written and its chain verified');
	ok(-e "$tmp/kept/data.mdb", '... and kept');
}

diag($_) for grep { /cancelled|backup:/ } split /\n/, $d->log_text;
$d->stop;

# --- the wall-clock cap ------------------------------------------------------------------
# Eight verifies at once share the loop's turns: none ends within a second.
{
	open my $cf2, '>', "$tmp/capped.conf" or die $!;
	print $cf2 "limits = { request_time_s = 1 }\n";
	close $cf2;
	my $c = Liud::start_daemon(rules => 'tests/packs/slice', clock => '2024-06-01',
				   conf => "$tmp/capped.conf", args => [ '--db', $d->{db} ]);
	my @socks;
	for (1 .. 8) {
		my $s = $c->connect;
		print $s $J->encode({ jsonrpc => '2.0', id => 1, method => 'audit.verify' }), "\n";
		push @socks, $s;
	}
	my @r = map { reply_of($_, 60) } @socks;
	my @capped = grep { $_ && $_->{error} && $_->{error}{code} == -32007 } @r;
	my @held = grep { $_ && $_->{result} && $_->{result}{ok} } @r;
	is(@capped + @held, 8, 'each verify either holds or is stopped by the cap');
	ok(@capped > 0, 'verifies past limits.request_time_s are stopped with -32007');
	if (@capped) {
		is($capped[0]{error}{data}{limit}, 'limits.request_time_s', '... naming the limit');
		like($capped[0]{error}{message}, qr/cannot be narrowed: raise the limit/, '... and saying to raise it');
	}
	$c->stop;
}
done_testing;
