#!/usr/bin/perl
# Many records expiring at one instant: enforced in bounded batches, each
# record exactly once, while reads keep being answered.  LIUD_SCALE sets the
# count (make test: 3,000; `make test-scale`: 100,000).  The longest pause a
# reader saw is reported, not asserted: timing bars belong to benchmarks.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);

my $n = $ENV{LIUD_SCALE} // 3000;
my $batch = $ENV{LIUD_BATCH} // 200;
my $tmp = tempdir('liud-scale-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $cf, '>', "$tmp/liud.conf" or die;
print $cf "storage = { map_mib = 1024, enforce_batch = $batch }\n";
close $cf;
my $d = Liud::start_daemon(clock => '2024-12-31T12:00:00+09:00', rules => 'tests/packs/mini',
			   conf => "$tmp/liud.conf");

# Load: 8 writers, pipelined, sharing commits.
my $t0 = time;
my @kids;
my $per = int(($n + 7) / 8);
for my $w (0 .. 7) {
	my $pid = fork // die;
	if ($pid == 0) {
		my $left = $n - $w * $per;
		$left = $per if $left > $per;
		while ($left > 0) {
			my $k = $left > 200 ? 200 : $left;
			my @r = $d->pipeline('act', map { { action => 'create', params => { text => "w$w" } } } 1 .. $k);
			_exit(1) if grep { !$_->{result} } @r;
			$left -= $k;
		}
		_exit(0);
	}
	push @kids, $pid;
}
my $fail = 0;
for (@kids) { waitpid($_, 0); $fail++ if $? }
is($fail, 0, 'all writers finished');
my $st = $d->ok_call('status');
is($st->{records}{note}{open}, $n, sprintf("%d records stored (%.1f s, %d batches)", $n, time - $t0, $st->{writes}{batches}));

# A reader measures its longest wait while the deadline is crossed.
my $rpid = open(my $rd, '-|') // die;
if ($rpid == 0) {
	my ($max, $count) = (0, 0);
	my $end = time + 60;
	while (time < $end) {
		my $a = time;
		my $r = $d->call('record.get', { id => 'N-000001' });
		my $w = time - $a;
		$max = $w if $w > $max;
		$count++;
		last if $r->{result}{state} eq 'expired' && $count > 5 && -e "$tmp/done";
	}
	print "$max $count\n";
	_exit(0);
}
sleep 0.2;
$d->ok_call('clock.set', { now => '2024-12-31T23:59:59+09:00' });
my $t1 = time;
my $ok = 0;
while (time - $t1 < 120) {
	my $s = $d->ok_call('status');
	if (($s->{records}{note}{expired} // 0) == $n) { $ok = 1; last }
	sleep 0.1;
}
my $dt = time - $t1 - 1;
open my $df, '>', "$tmp/done"; close $df;
my ($max, $reads) = split ' ', scalar <$rd>;
waitpid($rpid, 0);
ok($ok, "all $n records expired");
diag(sprintf("enforcement of %d records took about %.2f s; a reader made %d reads meanwhile, longest wait %.1f ms",
	     $n, $dt, $reads, $max * 1000));
ok($reads > 5, 'reads were answered during enforcement');
my $log = $d->log_text;
my ($changed) = $log =~ /sched: enforced measure=window .*records_changed=(\d+)/;
is($changed, $n, 'one enforcement run changed every record');
my $batches_expected = int(($n + $batch - 1) / $batch);
my $st2 = $d->ok_call('status');
ok($st2->{writes}{batches} - $st->{writes}{batches} >= $batches_expected - 1,
   "in bounded batches (at least $batches_expected transactions of <= $batch records)");
like($log, qr/sched: progress measure=window/, 'progress is logged') if $n >= 10000;
my $h = $d->ok_call('history', { id => sprintf('N-%06d', $n) })->{entries};
is(scalar(grep { $_->{method} eq 'enforce' } @$h), 1, 'the last record too, exactly once');
ok($d->ok_call('audit.verify')->{ok}, 'the audit chain holds');
# Records this short are stored as they are: no compression dictionary, and
# the daemon does not try again at every batch (only when records double).
is($st2->{storage}{dictionary}, undef, 'short records: no compression dictionary');
my $tries = () = $log =~ /no compression dictionary from the records yet .*reason="too few records long enough/g;
ok($tries >= 1 && $tries <= 1 + int(log($n / 1000) / log(2)), "tried $tries time(s) for $n records");
done_testing;
