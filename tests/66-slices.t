#!/usr/bin/perl
# Work whose size a client chooses runs on the loop in bounded slices: a
# view or an import never stalls other clients; a view whose client hung up
# stops; a view has a wall-clock cap (limits.request_time_s) and a reply cap
# (limits.reply_mib); a view's rows are streamed, and a reply that cannot be
# finished after bytes went out ends with the connection, never with an
# invalid line.  Uses the pack tests/packs/slice.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use IO::Select;
use POSIX ();
use Time::HiRes qw(time sleep);

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
my $J = Liud::json();
# Under the sanitizers or memcheck everything is slower and freed memory is
# held in quarantine: the bars on stalls and RSS widen by this much.
my $SLOW = $ENV{LIUD_SAN} || $ENV{LIUD_VALGRIND} ? 4 : 1;

# --- helpers -------------------------------------------------------------------

# The reply line of one request on its own connection, or undef after
# `limit` seconds; with the seconds it took.
sub timed_call {
	my ($d, $method, $params, $limit) = @_;
	my $t0 = time;
	my $s = $d->connect;
	print $s $J->encode({ jsonrpc => '2.0', id => 1, method => $method,
			      ($params ? (params => $params) : ()) }), "\n";
	my $sel = IO::Select->new($s);
	my $buf = '';
	while ($buf !~ /\n/) {
		last unless $sel->can_read($limit - (time - $t0));
		last unless sysread($s, $buf, 65536, length $buf);
	}
	close $s;
	return ($buf =~ /\n/ ? $J->decode($buf) : undef, time - $t0);
}

# Status latencies (seconds) from `n` calls, one after another.
sub status_latencies {
	my ($d, $n, $pause) = @_;
	my @l;
	for (1 .. $n) {
		my ($r, $t) = timed_call($d, 'status', undef, 2 * $SLOW);
		push @l, $r ? $t : 9.999; # no answer in 2 s
		sleep $pause if $pause;
	}
	return @l;
}

sub max { my $m = shift; for (@_) { $m = $_ if $_ > $m } $m }
sub ms { join ' ', map { sprintf '%.0f', $_ * 1000 } @_ }

# Status latencies while the reply on socket $s is not there yet (at most
# 60 s), then that reply.
sub status_until_reply {
	my ($d, $s) = @_;
	my ($sel, $t0, @l) = (IO::Select->new($s), time);
	while (!$sel->can_read(0) && time - $t0 < 60) {
		push @l, status_latencies($d, 1);
		sleep 0.02;
	}
	my $line = <$s>;
	close $s;
	return ($line && $J->decode($line), @l);
}

# The daemon's CPU seconds so far (user + system, from /proc).
sub cpu_s {
	my $d = shift;
	open my $f, '<', "/proc/$d->{pid}/stat" or return 0;
	my @f = split ' ', (<$f> =~ s/^.*\) //r);
	return ($f[11] + $f[12]) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
}

sub conf_file {
	my ($dir, $text) = @_;
	open my $f, '>', "$dir/liud.conf" or die $!;
	print $f $text;
	close $f;
	return "$dir/liud.conf";
}

sub fill {
	my ($d, $n) = @_;
	for (my $i = 0; $i < $n; $i += 5000) {
		my $k = $n - $i < 5000 ? $n - $i : 5000;
		$d->ok_call('import', { action => 'create',
					rows => [ map { { n => $_, text => "item $_" } } $i + 1 .. $i + $k ] });
	}
}

# An agency user (the outsider's role), when the test may make one.
my ($agy_uid, $agy_gid);
if ($> == 0) {
	system('useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'liut-slicer')
		unless getpwnam('liut-slicer');
	(undef, undef, $agy_uid, $agy_gid) = getpwnam('liut-slicer');
}

# --- (a) an agency user sends 20 views and hangs up at once --------------------

my $dir = tempdir('liud-slices-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my $roles = defined $agy_uid ? qq(agency = { users = { "$agy_uid" } }) : '';
my $d = Liud::start_daemon(dir => $dir, rules => 'tests/packs/slice', clock => '2024-06-01',
			   conf => conf_file($dir, qq(socket_mode = "0666"\nroles = { $roles }\n) .
					    "limits = { request_bytes = 8388608 }\n"));
ok($d->alive, 'daemon up with the slice pack');
fill($d, 3000);

# A view of the 3,000 records that costs about a second and a half.
my $spin = 2000;
my (undef, $t1) = timed_call($d, 'view', { name => 'slow', params => { spin => $spin } }, 60);
$spin = int($spin * 1.5 / ($t1 || 0.01)) + 1;
my ($one, $t2) = timed_call($d, 'view', { name => 'slow', params => { spin => $spin } }, 60);
is($one && $one->{result}{count}, 3000, 'the slow view lists the 3,000 records');
diag(sprintf 'one slow view: %.2f s (spin %d)', $t2, $spin);

my $cpu0 = cpu_s($d);
my $pid = fork // die;
if ($pid == 0) {
	if (defined $agy_uid) {
		POSIX::setgid($agy_gid);
		POSIX::setuid($agy_uid) or POSIX::_exit(3);
	}
	my $s = IO::Socket::UNIX->new(Peer => $d->{sock}, Type => IO::Socket::UNIX::SOCK_STREAM())
		or POSIX::_exit(2);
	print $s join '', map { $J->encode({ jsonrpc => '2.0', id => $_, method => 'view',
					       params => { name => 'slow', params => { spin => $spin } } }) . "\n" } 1 .. 20;
	close $s;
	POSIX::_exit(0);
}
waitpid($pid, 0);
is($?, 0, 'the agency client sent 20 views and hung up');
sleep 0.2;
my @lat = status_latencies($d, 8, 0.1);
diag('status during the abandoned views (ms): ' . ms(@lat));
cmp_ok(max(@lat), '<', 1, 'every status answered within a second while the abandoned views were pending');
my $deadline = time + 5;
sleep 0.1 while time < $deadline && $d->log_text !~ /view cancelled/;
like($d->log_text, qr/rpc: view cancelled, the client hung up.*rows_done=\d+/,
     'the log says the abandoned view was cancelled');
my $c1 = cpu_s($d);
sleep 1;
my $idle = cpu_s($d) - $c1;
diag(sprintf 'daemon CPU: %.2f s since the views were sent, %.2f s in the second after', $c1 - $cpu0, $idle);
cmp_ok($idle, '<', 0.3, 'the daemon stopped working on the abandoned views');
my ($st) = timed_call($d, 'status', undef, 5);
ok($st && $st->{result}, 'the daemon still serves');

# --- (c) status stays fast during a big view and a big import --------------------

{
	my $s = $d->connect;
	print $s $J->encode({ jsonrpc => '2.0', id => 7, method => 'view',
			      params => { name => 'slow', params => { spin => $spin * 2 } } }), "\n";
	my $t0 = time;
	my ($v, @l) = status_until_reply($d, $s);
	diag(sprintf 'status during a %.1f s view (ms): %s', time - $t0, ms(@l));
	is($v && $v->{result}{count}, 3000, 'the big view completes');
	cmp_ok(max(@l), '<', 1, 'no status waited a second during the big view');
}
{
	my @rows = map { { n => $_, text => "row $_" } } 1 .. 40000;
	my $s = $d->connect;
	print $s $J->encode({ jsonrpc => '2.0', id => 8, method => 'import',
			      params => { action => 'create', rows => \@rows } }), "\n";
	my $t0 = time;
	my ($r, @l) = status_until_reply($d, $s);
	diag(sprintf 'status during an import of 40,000 rows (%.1f s) (ms): %s', time - $t0, ms(@l));
	is($r && $r->{result}{created}, 40000, 'the big import writes every row');
	# The rows go through the pack in slices; their write is still one
	# transaction prepared on the loop at the end (about 1 s for 40,000
	# rows here), so only a stall of seconds fails.
	cmp_ok(max(@l), '<', 2 * $SLOW, 'no status waited two seconds during the big import');
}
is($d->stop, 0, 'the daemon stops cleanly (under SAN=1: no leak, no report)');

# --- (b) the reply cap, and a streamed reply --------------------------------------

my $dir2 = tempdir('liud-slices-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d2 = Liud::start_daemon(dir => $dir2, rules => 'tests/packs/slice', clock => '2024-06-01',
			    conf => conf_file($dir2, "limits = { reply_mib = 4, request_time_s = 1 }\n"));
fill($d2, 100);
my $rss0 = $d2->rss_kib;

my ($e) = timed_call($d2, 'view', { name => 'big', params => { kib => 5 * 1024 } }, 60);
is($e && $e->{error}{code}, -32007, 'a view whose first row is over the reply cap gets -32007');
like($e && $e->{error}{message}, qr/limits\.reply_mib.*4 MiB/, 'naming the limit and its value');
like($e && $e->{error}{message}, qr/params|filter/, 'and saying how to ask for less');

my $ok = $d2->call('view', { name => 'big', params => { kib => 16 } });
is($ok->{result}{count}, 100, 'a reply of 1.6 MB, under the cap, arrives whole');
is(scalar @{ $ok->{result}{rows} }, 100, 'with all its rows');
is(length $ok->{result}{rows}[99]{blob}, 16 * 1024, 'each as built');

# 100 rows of 256 KiB: 25 MB, over the cap of 4 MiB after bytes went out.
{
	my $s = $d2->connect;
	print $s $J->encode({ jsonrpc => '2.0', id => 9, method => 'view', params => { name => 'big' } }), "\n";
	my $sel = IO::Select->new($s);
	my ($buf, $t0) = ('', time);
	while (time - $t0 < 30) {
		last unless $sel->can_read(30);
		my $n = sysread($s, $buf, 1 << 20, length $buf);
		last unless $n;
	}
	close $s;
	diag(sprintf 'streamed then cut: %d bytes', length $buf);
	ok(length $buf > 0 && index($buf, "\n") < 0,
	   'a reply over the cap after bytes went out is never ended as a line');
	cmp_ok(length $buf, '<', 6 << 20, 'and stops near the cap');
	like($d2->log_text, qr/limits\.reply_mib.*connection closed/, 'the log says why the connection closed');
}
my $rss1 = $d2->rss_kib;
diag("RSS: $rss0 KiB before the big views, $rss1 KiB after");
cmp_ok($rss1 - $rss0, '<', 64 * 1024 * $SLOW, 'the daemon holds no big reply (RSS grew by less than 64 MiB)');

# The wall-clock cap.
my ($to, $tt) = timed_call($d2, 'view', { name => 'slow', params => { spin => 3000000 } }, 30);
diag(sprintf 'a view over the time cap answered in %.2f s', $tt);
diag($d2->log_text) unless $to;
is($to && $to->{error}{code}, -32007, 'a view over limits.request_time_s gets -32007');
like($to && $to->{error}{message}, qr/limits\.request_time_s.*1 s/, 'naming the limit and its value');
cmp_ok($tt, '<', 5, 'soon after the cap');
ok($d2->ok_call('status'), 'the daemon still serves');
is($d2->stop, 0, 'the daemon stops cleanly');
done_testing;
