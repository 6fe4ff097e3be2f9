#!/usr/bin/perl
# Staged enforcement: the hooks of the next deadline run before it and their
# outcomes are written at the deadline.  It must give exactly what a run
# without staging gives (records and audit entries, but for their times),
# and never apply an outcome to a version it was not computed from: a write
# after staging, a reload, a restart (kill -9) in between.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

binmode Test::More->builder->$_, ':utf8' for qw(output failure_output todo_output);

my $BEFORE = '2025-03-31T23:00:00+09:00';
my $DEADLINE = '2025-04-01T00:00:00+09:00';
my $tmp = tempdir('liud-stage-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $cf, '>', "$tmp/nostage.conf" or die;
print $cf "storage = { stage_hours = 0 }\n";
close $cf;

sub wait_for { my ($cond, $secs) = @_; my $end = time + $secs; while (time < $end) { return 1 if $cond->(); sleep 0.05 } return 0 }

# The same applications on every daemon: submitted, confirmed, confirmed
# with an incentive used, confirmed with a filing, rejected.  `round`: a
# later fill of the same daemon, with other services (one live record each).
sub fill {
	my ($d, $round) = @_;
	my @ids;
	for my $i (1 .. 12) {
		my $name = "SaaS $i" . ($round ? " ($round)" : '');
		push @ids, $d->ok_call('act', { action => 'submit', params => Liud::good_app(service_name => $name) })->{record}{id};
	}
	$d->ok_call('act', { action => 'confirm', id => $ids[$_] }) for 4 .. 9;
	$d->ok_call('act', { action => 'use_incentive', id => $ids[5], params => { incentive => 'audit_scope', used_on => '2025-03-31' } });
	$d->ok_call('act', { action => 'file_liu_application', id => $ids[6], params => { type => 'application', filed_on => '2025-03-31' } });
	$d->ok_call('act', { action => 'reject', id => $ids[10], params => { reason => '不備' } });
	return @ids;
}

sub staged_done {
	my ($d) = @_;
	return wait_for(sub { my $s = $d->ok_call('status')->{staging}; $s->{done} && $s->{records_ready} == 11 }, 20);
}

# What must agree: records but for their times; history but for time and seal.
sub snapshot {
	my ($d, @ids) = @_;
	my %out;
	for my $id (@ids) {
		my $r = $d->ok_call('record.get', { id => $id });
		delete @{$r}{qw(updated_at created_at)};
		my $h = $d->ok_call('history', { id => $id })->{entries};
		# record_sha256 is the digest of the record's text, times included
		# (audit.verify checks it against the record)
		for my $e (@$h) { delete @{$e}{qw(time seq prev hash rules_version record_sha256)}; delete $e->{peer}{pid} if $e->{peer} }
		$out{$id} = { record => $r, history => $h };
	}
	return \%out;
}

# eval of each record after the deadline, but for its `at`.
sub evals {
	my ($d, @ids) = @_;
	my %out;
	for my $id (@ids) {
		my $e = $d->ok_call('eval', { id => $id });
		delete $e->{at};
		$out{$id} = $e;
	}
	return \%out;
}

sub memo { $_[0]->ok_call('status')->{eval_memo} }

sub cross {
	my ($d) = @_;
	$d->ok_call('clock.set', { now => $DEADLINE });
	my $e = $d->ok_call('enforce', {});
	return $e;
}

# --- the reference: no staging --------------------------------------------------
my $a = Liud::start_daemon(clock => $BEFORE, conf => "$tmp/nostage.conf");
my @ids = fill($a);
ok(!$a->ok_call('status')->{staging}{enabled}, 'stage_hours = 0 turns staging off');
$a->ok_call('act', { action => 'amend', id => $ids[1], params => { planned_liu_application => '2024-12' } });
cross($a);
my $want = snapshot($a, @ids);
my $want_eval = evals($a, @ids);
is($want_eval->{ $ids[0] }{decision}, 'ineligible', 'reference: a lapsed application is not eligible after the period');
is($want->{ $ids[0] }{record}{state}, 'lapsed', 'reference: a submitted application lapses');
is($want->{ $ids[4] }{record}{state}, 'ended', 'reference: a confirmed one ends');
$a->stop;

# --- staged, with a write after staging ----------------------------------------
my $b = Liud::start_daemon(clock => $BEFORE);
fill($b);
ok(staged_done($b), 'staging runs within the hour before the deadline');
my $st = $b->ok_call('status')->{staging};
like(`bin/liuctl --socket $b->{sock} status 2>&1`, qr/staged:\s+deadline 2025-04-01T00:00:00\+09:00: 11 records ready/,
     'liuctl status shows what is staged');
is($st->{records_ready}, 11, 'every affected application is staged (the rejected one is not affected)');
is($st->{hook_failures}, 0, 'with no hook failure');
is($b->ok_call('record.get', { id => $ids[0] })->{state}, 'submitted', 'staging changes nothing visible before the deadline');
# Staging also kept eval's answer for each stored version from the deadline
# on: the reads that come before the run has rewritten a record.
{
	my $m0 = memo($b);
	my $ahead = $b->ok_call('eval', { id => $ids[0], at => $DEADLINE });
	is(memo($b)->{hits}, $m0->{hits} + 1, 'eval at the deadline of a record staged for it is answered from the memo');
	my $fresh = $b->ok_call('eval', { record => $b->ok_call('record.get', { id => $ids[0] }), at => $DEADLINE });
	delete @{$_}{qw(at id)} for $ahead, $fresh;
	is_deeply($ahead, $fresh, '... with what computing it answers');
	is($b->ok_call('eval', { id => $ids[0] })->{decision}, 'eligible', 'and before the deadline the answer of now');
	my $h = memo($b)->{hits};
	$b->ok_call('eval', { id => $ids[0], at => $DEADLINE });
	is(memo($b)->{hits}, $h + 1, 'keeping the answer of now keeps the one from the deadline on');
}
like($b->log_text, qr/sched: staged deadline=2025-04-01T00:00:00\+09:00 .*records_ready=11 /, 'staging is logged');
# A write after staging: its staged outcome must not be used.
$b->ok_call('act', { action => 'amend', id => $ids[1], params => { planned_liu_application => '2024-12' } });
cross($b);
like($b->log_text, qr/applied staged enforcement measure=special-measure records=1[01] /,
     'the deadline applies the staged outcomes still valid (10, or 11 when a pass staged the amended one again)');
my $got = snapshot($b, @ids);
is_deeply($got, $want, 'records and audit entries are those of a run without staging');
# Staging also computed eval's answer for each new version: the first reads
# after the deadline are answered from the memo, and answer what a daemon
# that computes them answers.
my $m0 = memo($b);
my $e0 = $b->ok_call('eval', { id => $ids[0] });
my $m1 = memo($b);
is($m1->{hits}, $m0->{hits} + 1, 'the first eval of a staged record after the deadline is answered from the memo');
is($m1->{misses}, $m0->{misses}, '... nothing computed');
like($e0->{at}, qr/^2025-04-01T00:/, '... with the time of this eval in `at`');
is_deeply(evals($b, @ids), $want_eval, 'every eval after the deadline answers what a run without staging answers');
is($got->{ $ids[1] }{record}{data}{planned_liu_application}, '2024-12', 'the application written after staging has its change and its expiry');
ok($b->ok_call('audit.verify')->{ok}, 'the audit chain verifies');
# The staged rows are not deleted one by one as they are applied: the run's
# end drops them all at once, with the cursor that marks how far it got.
sub staged_rows { my ($db) = @_; my $o = `mdb_stat -s staged $db 2>&1`; $o =~ /Entries: (\d+)/ ? $1 : "?: $o" }
ok(wait_for(sub { staged_rows($b->{db}) eq '0' }, 10), 'after the run no staged row is left')
	or diag(staged_rows($b->{db}));
unlike(`mdb_dump -s meta -p $b->{db} 2>&1`, qr/stage-applied/, '... nor the run\'s cursor');
is_deeply($b->ok_call('deadlines')->{deadlines}, [], 'every deadline is marked enforced');
my $again = $b->ok_call('enforce', {});
is_deeply($again->{enforced}, [], 'enforcing again changes nothing');
$b->stop;

# --- a reload between staging and the deadline ---------------------------------
my $c = Liud::start_daemon(clock => $BEFORE);
fill($c);
ok(staged_done($c), 'staged');
system('cp', '-r', 'rules/ismap-liu', "$tmp/pack") == 0 or die;
open my $f, '>>', "$tmp/pack/50-expiry.lua" or die;
print $f "\n-- a test edit: same hooks, another version\n";
close $f;
$c->ok_call('rules.reload', { path => "$tmp/pack" });
ok(wait_for(sub { () = $c->log_text =~ /sched: staged deadline/g; scalar(() = $c->log_text =~ /sched: staged deadline/g) >= 2 }, 20),
   'after a reload the deadline is staged again under the new pack');
$c->ok_call('act', { action => 'amend', id => $ids[1], params => { planned_liu_application => '2024-12' } });
cross($c);
my $gc = snapshot($c, @ids);
is_deeply($gc, $want, 'the outcome is the same');
$c->stop;

# --- kill -9 after staging; the catch-up applies what was staged ---------------
my $dir = tempdir('liud-stage-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d = Liud::start_daemon(clock => $BEFORE, dir => $dir);
fill($d);
$d->ok_call('act', { action => 'amend', id => $ids[1], params => { planned_liu_application => '2024-12' } });
ok(staged_done($d), 'staged');
$d->stop('KILL');
$d->{opt}{clock} = '2025-04-01T01:00:00+09:00';
$d->start;
ok($d->alive, 'restarted after the deadline');
like($d->log_text, qr/applied staged enforcement measure=special-measure records=11 /, 'the catch-up applied the staged outcomes');
my $gd = snapshot($d, @ids);
is_deeply($gd, $want, 'with the same outcome as a run without staging');
$m0 = memo($d);
is_deeply(evals($d, @ids), $want_eval, 'eval after the catch-up answers the same');
is(memo($d)->{hits} - $m0->{hits}, 11, '... the 11 staged records from the memo (the catch-up put their answers)');
ok($d->ok_call('audit.verify')->{ok}, 'the audit chain verifies');
$d->stop;

# --- a stop while staging writes: the scheduler outlives its last write -----------
# (a batch being committed when SIGTERM comes calls back after the
# scheduler's timers are closed; it must not be freed before that).
{
	my $d0 = tempdir('liud-stage-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $f = Liud::start_daemon(clock => '2025-03-31T09:00:00+09:00', dir => $d0, conf => "$tmp/nostage.conf");
	fill($f, $_) for 1 .. 5;
	is($f->stop, 0, 'filled (60 applications) and stopped');
	for my $ms (0, 10, 30, 60, 100) {
		my $dn = tempdir('liud-stage-XXXXXX', TMPDIR => 1, CLEANUP => 1);
		system('cp', '-a', "$d0/.", $dn) == 0 or die;
		my $g = Liud::start_daemon(clock => $BEFORE, dir => $dn);
		sleep($ms / 1000);
		is($g->stop, 0, "SIGTERM ${ms} ms into staging: a clean exit");
		like($g->log_text, qr/liud: stopped/, '... that says so');
	}
}

done_testing;
