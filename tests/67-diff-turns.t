#!/usr/bin/perl
# rules.diff walks every record through both packs in steps of about 5 ms:
# however slow a candidate's hooks are (here an expiry hook that spins for
# each record), the other clients are answered between steps.  A client
# asking `status` every 10 ms meanwhile never waits half the time the diff
# took (one step of 500 records would hold it for all of it).
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use IO::Select;
use Time::HiRes qw(time sleep);

my $J = Liud::json();
my $N = 300;

my $tmp = tempdir('liud-diff-turns-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d = Liud::start_daemon(clock => '2024-06-01T12:00:00+09:00', rules => 'tests/packs/mini');
my $r = $d->ok_call('import', { action => 'create', rows => [ map { { text => "n$_" } } 1 .. $N ] });
is($r->{created}, $N, "$N records to diff");

# The candidate: the mini pack whose expiry hook spins a while per record.
my $pack = "$tmp/slow";
system('cp', '-r', 'tests/packs/mini', $pack) == 0 or die;
{
	local @ARGV = ("$pack/main.lua");
	local $^I = '';
	my $n = 0;
	while (<>) {
		$n += s/run = function \(app, at, rec\) rec.state = "expired" end/run = function (app, at, rec) local s = 0; for i = 1, 300000 do s = s + i end; rec.state = "expired" end/;
		print;
	}
	die 'the expiry hook was not found' unless $n;
}

# One status on its own connection: [sent, answered or undef].
sub status_at {
	my $t0 = time;
	my $s = $d->connect;
	print $s $J->encode({ jsonrpc => '2.0', id => 1, method => 'status' }), "\n";
	my $sel = IO::Select->new($s);
	my $buf = '';
	while ($buf !~ /\n/) {
		last unless $sel->can_read(10 - (time - $t0));
		last unless sysread($s, $buf, 65536, length $buf);
	}
	close $s;
	return [ $t0, $buf =~ /\n/ ? time : undef ];
}

my $s = $d->connect;
print $s $J->encode({ jsonrpc => '2.0', id => 3, method => 'rules.diff',
		      params => { path => $pack, at => '2025-02-01' } }), "\n";
my ($sel, $t0, @st) = (IO::Select->new($s), time);
while (!$sel->can_read(0) && time - $t0 < 60) {
	push @st, status_at();
	sleep 0.01;
}
my $line = <$s>;
my $took = time - $t0;
close $s;
my $x = $line && $J->decode($line);
is($x && $x->{result}{records}, $N, 'the diff looks at every record') or diag explain $x;
my ($worst) = sort { $b <=> $a } map { ($_->[1] // $_->[0] + 10) - $_->[0] } @st;
diag(sprintf 'diff of %d records: %.0f ms, %d statuses meanwhile, the longest wait %.0f ms',
     $N, 1000 * $took, scalar @st, 1000 * ($worst // 0));
cmp_ok(scalar @st, '>=', 5, 'statuses are answered while the diff runs');
cmp_ok($worst // 10, '<', $took / 2, 'none waits half the time the diff took (answered between steps)');
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
