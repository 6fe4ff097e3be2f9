#!/usr/bin/perl
# The daemon's life: one daemon per socket and per database, stale sockets,
# kill -9 during concurrent writes with every acknowledged write present after
# restart, group commit, clean stop.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use POSIX qw(_exit);
use Time::HiRes qw(sleep);

sub slurp { open my $f, '<', $_[0] or return ''; local $/; my $t = <$f>; return $t // '' }

my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini');
ok($d->alive, 'first daemon up');

# A second daemon on the same socket is refused and the first keeps serving.
my $d2 = Liud::start_daemon(dir => $d->{dir}, clock => '2024-06-01', rules => 'tests/packs/mini',
			     expect_exit => 1);
ok(!$d2->alive, 'a second daemon on a live socket does not start');
is($d2->{exit}, 1, 'it exits with status 1');
like($d2->log_text, qr/live daemon already answers/, 'saying a live daemon answers');
ok($d->ok_call('status'), 'the first daemon still answers');

# Same database, other socket: refused by the database lock.
{
	my $d3 = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini',
				    args => [ '--db', $d->{db} ], expect_exit => 1);
	ok(!$d3->alive, 'a second daemon on the same database does not start');
	like($d3->log_text, qr/another liud uses it/, 'saying the database is in use');
}

# A socket path that cannot be bound (its folder is a file): the daemon
# says why and exits, and its listener is not freed before libuv is done
# with it.  libuv is not built with the sanitizers, so what it does with
# freed memory only memcheck sees: the daemon runs under valgrind here (not
# in a sanitizer build, which valgrind cannot run; under VALGRIND=1 every
# daemon does).
{
	my $tmp = tempdir('liud-nosock-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	open my $fh, '>', "$tmp/file" or die; close $fh;
	my $memcheck = !$ENV{LIUD_SAN} && !$ENV{LIUD_VALGRIND} && system('valgrind --version >/dev/null 2>&1') == 0;
	my @wrap = $memcheck ? ('valgrind', '--quiet', '--error-exitcode=99', '--soname-synonyms=somalloc=*jemalloc*',
				"--log-file=$tmp/memcheck.log") : ();
	my $d4 = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini', (@wrap ? (wrap => \@wrap) : ()),
				    args => [ '--socket', "$tmp/file/liud.sock" ], expect_exit => 1);
	is($d4->{exit}, 1, 'a socket path that cannot be bound: exit status 1' .
	   ($memcheck ? ', and memcheck finds no use of freed memory' : ''))
		or diag(join '', (split /^/, slurp("$tmp/memcheck.log"))[0 .. 19]);
	like($d4->log_text, qr/cannot serve the socket path=\S+ error="Not a directory"/, 'saying why');
	note('valgrind is not installed: the memory is not checked') unless $memcheck || $ENV{LIUD_SAN} || $ENV{LIUD_VALGRIND};
}

# Concurrent writers, then kill -9 in the middle.
my $writers = 8;
my @kids;
for my $w (1 .. $writers) {
	my $pid = fork // die;
	if ($pid == 0) {
		open my $ack, '>', "$d->{dir}/ack.$w" or die;
		$ack->autoflush(1);
		for my $i (1 .. 400) {
			my $text = "w$w-$i-" . ('x' x ($i % 50));
			my $r = eval { $d->call('act', { action => 'create', params => { text => $text } }) };
			last unless $r && $r->{result};
			print $ack "$r->{result}{record}{id} $text\n";
		}
		_exit(0);
	}
	push @kids, $pid;
}
sleep 0.6;
my $st = $d->ok_call('status');
$d->stop('KILL');
waitpid($_, 0) for @kids;
ok($st->{writes}{committed} > 0, "writes were committed before the kill ($st->{writes}{committed})");
ok($st->{writes}{batches} < $st->{writes}{committed},
   "group commit: $st->{writes}{committed} writes in $st->{writes}{batches} batches");

my %acked;
for my $w (1 .. $writers) {
	open my $f, '<', "$d->{dir}/ack.$w" or next;
	while (<$f>) { chomp; my ($id, $text) = split / /, $_, 2; $acked{$id} = $text }
}
ok(scalar(keys %acked) > 0, scalar(keys %acked) . ' writes acknowledged before the kill');
ok(-S $d->{sock}, 'the killed daemon left its socket behind');

$d->start;
ok($d->alive, 'restart after kill -9 removes the stale socket and serves');
like($d->log_text, qr/removing stale socket/, 'and says so');
my $missing = 0;
for my $id (sort keys %acked) {
	my $r = $d->call('record.get', { id => $id });
	$missing++ unless $r->{result} && $r->{result}{data}{text} eq $acked{$id};
}
is($missing, 0, 'every acknowledged write is present, byte for byte');
my $av = $d->ok_call('audit.verify');
ok($av->{ok}, 'the audit chain is whole after the crash');
my $count = 0;
$count += $_ for values %{ $d->ok_call('status')->{records}{note} // {} };
my $activations = scalar @{ $d->ok_call('rules.history')->{history} };
is($count + $activations, $av->{entries}, 'one audit entry per stored record (and rules activation), none half-applied');

# New writes continue the id sequence and the chain.
my $r = $d->ok_call('act', { action => 'create', params => { text => 'after' } });
ok(!exists $acked{ $r->{record}{id} }, 'ids are not reused after a crash');
ok($d->ok_call('audit.verify')->{ok}, 'the chain goes on after restart');
is($d->stop, 0, 'clean stop');
done_testing;
