#!/usr/bin/perl
# Deadlines and enforcement with the core's minimal pack (window ends
# 2025-01-01T00:00+09:00): live crossing, idempotent enforce, catch-up after
# kill -9 across the deadline, clock.set, and reloads that move the date.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

sub wait_for { my ($cond, $secs) = @_; my $end = time + $secs; while (time < $end) { return 1 if $cond->(); sleep 0.05 } return 0 }

# --- live crossing -------------------------------------------------------------
my $d = Liud::start_daemon(clock => '2024-12-31T23:59:58+09:00', rules => 'tests/packs/mini');
$d->ok_call('act', { action => 'create', params => { text => "n$_" } }) for 1 .. 30;
$d->ok_call('act', { action => 'close', id => 'N-000001' });
my $dl = $d->ok_call('deadlines')->{deadlines};
is(scalar @$dl, 1, 'one upcoming deadline');
is($dl->[0]{measure}, 'window', 'the end of the window');
is($dl->[0]{at}, '2025-01-01T00:00:00+09:00', 'at its instant (till is inclusive, JST)');
is($dl->[0]{records_affected}, 29, 'affecting the 29 open notes');
is($d->ok_call('status')->{next_deadline}, '2025-01-01T00:00:00+09:00', 'status shows the next deadline');

ok(wait_for(sub { ($d->ok_call('status')->{records}{note}{expired} // 0) == 29 }, 6),
   'the deadline is enforced live, on time');
my $h0 = $d->ok_call('history', { id => 'N-000030' })->{entries};
my $t_done = $h0->[-1]{time};
like($t_done, qr/^2025-01-01T00:00:0[01]\+09:00$/, "enforced on time: not early, at most a second late ($t_done)");
is($d->ok_call('record.get', { id => 'N-000001' })->{state}, 'closed', 'a record in another state is untouched');
my $h = $d->ok_call('history', { id => 'N-000002' })->{entries};
is($h->[-1]{method}, 'enforce', 'the expiry is in the record\'s history');
is($h->[-1]{measure}, 'window', 'naming the measure');
is(scalar(grep { $_->{method} eq 'enforce' } @$h), 1, 'exactly once');
like($d->log_text, qr/sched: enforced measure=window .*records_changed=29/, 'and logged with its figures');

my $e = $d->ok_call('enforce', {});
is_deeply($e->{enforced}, [], 'enforce again: nothing left to do (idempotent)');
{
	# enforce with nothing due answers at once; the connection's next
	# requests must not wait for a reply that was already given (found by
	# the RPC fuzzer).
	my $s = $d->connect;
	print $s json->encode({ jsonrpc => '2.0', id => 1, method => 'enforce', params => {} }), "\n";
	print $s json->encode({ jsonrpc => '2.0', id => 2, method => 'status' }), "\n";
	my @ids;
	local $SIG{ALRM} = sub { die "timeout\n" };
	alarm 5;
	eval { for (1 .. 2) { push @ids, json->decode(scalar <$s>)->{id} } };
	alarm 0;
	is_deeply(\@ids, [1, 2], 'a read after an immediate enforce on the same connection is answered');
	close $s;
}
is(scalar(@{ $d->ok_call('history', { id => 'N-000002' })->{entries} }), 2, 'no second entry');
is_deeply($d->ok_call('deadlines')->{deadlines}, [], 'no upcoming deadline');
ok($d->ok_call('audit.verify')->{ok}, 'the audit chain holds');
$d->stop;

# --- down across the deadline: catch-up before serving -------------------------
my $d2 = Liud::start_daemon(clock => '2024-12-31T12:00:00+09:00', rules => 'tests/packs/mini');
$d2->ok_call('act', { action => 'create', params => { text => "m$_" } }) for 1 .. 10;
$d2->stop('KILL');
$d2->{opt}{clock} = '2025-01-02T00:00:00+09:00';
$d2->start;
my $st = $d2->ok_call('status');
is($st->{records}{note}{expired}, 10, 'overdue deadline enforced at start, before the first request was served');
like($d2->log_text, qr/caught up with deadlines passed while down/, 'the catch-up is logged');
$d2->stop;
$d2->start;
is(scalar(grep { $_->{method} eq 'enforce' } @{ $d2->ok_call('history', { id => 'N-000003' })->{entries} }), 1,
   'a restart does not enforce twice');
$d2->stop;

# --- clock.set, and reloads that move the deadline -------------------------------
my $tmp = tempdir('liud-pack-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('cp', '-r', 'tests/packs/mini', "$tmp/mini") == 0 or die;
sub edit { my ($from, $to) = @_; local @ARGV = ("$tmp/mini/main.lua"); local $^I = ''; while (<>) { s/\Q$from\E/$to/; print } }
my $d3 = Liud::start_daemon(clock => '2024-06-01T00:00:00+09:00', rules => "$tmp/mini");
$d3->ok_call('act', { action => 'create', params => { text => 'x' } });
# Extending the period before it ends delays the enforcement.
edit('till = "2024-12-31"', 'till = "2025-03-31"');
$d3->ok_call('rules.reload', {});
is($d3->ok_call('deadlines')->{deadlines}[0]{at}, '2025-04-01T00:00:00+09:00', 'extending the period moves the deadline later');
$d3->ok_call('clock.set', { now => '2025-01-01T00:00:05+09:00' });
sleep 0.3;
is($d3->ok_call('record.get', { id => 'N-000001' })->{state}, 'open', 'nothing expires at the old date');
# Shortening it to a date already past brings it forward: enforced at once.
edit('till = "2025-03-31"', 'till = "2024-12-31"');
$d3->ok_call('rules.reload', {});
ok(wait_for(sub { $d3->ok_call('record.get', { id => 'N-000001' })->{state} eq 'expired' }, 3),
   'shortening it to a past date enforces at once');
# The clock stepped back does not un-expire or re-run anything.
$d3->ok_call('clock.set', { now => '2024-06-02' });
sleep 0.3;
is(scalar(grep { $_->{method} eq 'enforce' } @{ $d3->ok_call('history', { id => 'N-000001' })->{entries} }), 1,
   'a clock stepped back runs nothing again');
$d3->stop;

# clock.set is refused without --test-clock.
my $d4 = Liud::start_daemon(rules => 'tests/packs/mini');
my $r = $d4->call('clock.set', { now => '2030-01-01' });
is($r->{error}{code}, -32001, 'clock.set without --test-clock is forbidden');
$r = $d4->call('clock.set', {});
is($r->{error}{code}, -32602, 'clock.set without now is invalid');
$d4->stop;
done_testing;
