#!/usr/bin/perl
# Hostile clients: 1,000 slow clients trickling bytes, a line that never
# ends, connections up to the file-descriptor limit.  Throughout, a
# well-behaved client is served; once the abuse stops the daemon recovers at
# once.  Latencies are reported (diag), and only a stall is a failure: timing
# bars belong to the benchmarks.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use IO::Socket::UNIX;
use IO::Select;
use Time::HiRes qw(sleep time);

sub p99 { my @s = sort { $a <=> $b } @_; return $s[int(0.99 * $#s)] }
sub probe {
	my ($d, $n) = @_;
	my @lat;
	for (1 .. $n) {
		my $t = time;
		my $r = $d->call('status');
		push @lat, time - $t;
		return () unless $r->{result};
	}
	return @lat;
}

my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini');
my @base = probe($d, 100);
diag(sprintf('alone: p99 %.2f ms', 1000 * p99(@base)));

# --- 1,000 slow clients, each sending a byte every second --------------------------
my @slow;
for (1 .. 1000) {
	my $s = IO::Socket::UNIX->new(Peer => $d->{sock}, Type => SOCK_STREAM) or last;
	$s->blocking(0);
	push @slow, $s;
}
is(scalar @slow, 1000, '1,000 slow clients connected');
my @lat;
my $ok = 1;
for my $round (1 .. 3) {
	syswrite($_, $round == 1 ? '{"jsonrpc":' : ' ') for @slow;
	my @l = probe($d, 60);
	$ok = 0 unless @l == 60;
	push @lat, @l;
	sleep 0.5;
}
ok($ok, 'a well-behaved client is answered throughout');
my $p = p99(@lat);
diag(sprintf('with 1,000 slow clients: p99 %.2f ms over %d requests', 1000 * $p, scalar @lat));
ok($p < 1.0, 'and never stalls (p99 under a second)');
ok($d->ok_call('status')->{connections} >= 1000, 'status counts the open connections');
close $_ for @slow;
my $t = time;
my $r = $d->call('status');
ok($r->{result} && time - $t < 1, 'served at once after the slow clients leave');

# --- a line that never ends ----------------------------------------------------------
my $rss0 = $d->rss_kib;
{
	my $s = $d->connect;
	my $chunk = 'x' x (1 << 20);
	print $s '{"jsonrpc":"2.0","id":1,"method":"status","params":{"x":"';
	print $s $chunk for 1 .. 24;
	my $rss1 = $d->rss_kib;
	print $s "\"}}\n";
	my $reply = json->decode(scalar <$s>);
	is($reply->{error}{code}, -32007, '24 MiB without a newline: -32007 once the line ends');
	ok($rss1 - $rss0 < 8 * 1024, sprintf('the daemon did not buffer it (RSS grew by %d KiB)', $rss1 - $rss0));
	print $s json->encode({ jsonrpc => '2.0', id => 2, method => 'status' }), "\n";
	is(json->decode(scalar <$s>)->{id}, 2, 'and the connection goes on');
	close $s;
}
$d->stop;

# --- up to the file-descriptor limit ---------------------------------------------------
my $e = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini',
			   wrap => [ 'sh', '-c', 'ulimit -n 64; exec "$@"', 'sh' ]);
ok($e->alive, 'a daemon with 64 file descriptors');
my @many;
for (1 .. 150) {
	my $s = IO::Socket::UNIX->new(Peer => $e->{sock}, Type => SOCK_STREAM) or last;
	push @many, $s;
}
ok(scalar @many >= 60, scalar(@many) . ' connections attempted past the limit');
sleep 0.5;
ok($e->alive, 'the daemon survives EMFILE');
# Past the limit libuv accepts and closes at once (its spare descriptor), so
# a flood never spins the loop: those clients see EOF, not a hang.
my $closed = 0;
my $sel = IO::Select->new(@many);
my $until = time + 1;
while (time < $until) {
	my @r = $sel->can_read(0.1) or next;
	for my $s (@r) {
		my $n = sysread($s, my $buf, 1);
		if (defined $n && $n == 0) { $closed++; $sel->remove($s) }
	}
}
ok($closed > 0, "connections past the limit are closed at once ($closed of " . scalar(@many) . ')');
close $_ for @many;
$t = time;
my $back;
while (time - $t < 2) { $back = eval { $e->call('status') }; last if $back && $back->{result}; sleep 0.05 }
ok($back && $back->{result}, sprintf('it serves again %.0f ms after the flood stops', 1000 * (time - $t)));
ok(time - $t < 1, 'within a second');
is($e->stop, 0, 'and stops cleanly');
done_testing;
