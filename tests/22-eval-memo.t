#!/usr/bin/perl
# eval's memo: a pack that declares eval_by_date has its answers kept,
# encoded, per record.  A kept answer must never outlive what it came from:
# the record (a write commits), the pack (a reload), the day or a measure's
# start or end.  And a hit must answer exactly what a fresh eval answers.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use File::Path qw(make_path);

binmode Test::More->builder->$_, ':utf8' for qw(output failure_output todo_output);

sub memo { $_[0]->ok_call('status')->{eval_memo} }
sub sans_at { my %r = %{ $_[0] }; delete $r{at}; \%r }

my $d = Liud::start_daemon(clock => '2024-06-01T10:00:00+09:00');
my $app = $d->ok_call('act', { action => 'submit', params => Liud::good_app() });
my $id = $app->{record}{id};

my $m0 = memo($d);
is($m0->{entries}, 0, 'the memo starts empty');
my $e1 = $d->ok_call('eval', { id => $id });
is($e1->{decision}, 'eligible', 'a good application is eligible');
is(memo($d)->{misses}, $m0->{misses} + 1, 'the first eval computes (a miss)');
is(memo($d)->{entries}, 1, 'and keeps its answer');
my $e2 = $d->ok_call('eval', { id => $id });
is(memo($d)->{hits}, $m0->{hits} + 1, 'the second eval is a hit');
is_deeply(sans_at($e2), sans_at($e1), 'a hit answers what the computation answered');
like($e2->{at}, qr/^2024-06-01T10:\d\d:\d\d\+09:00$/, 'with the time of this eval in `at`');

# Explicit instants: the same day is a hit with its own `at`; another day is not.
my $h = memo($d)->{hits};
my $e3 = $d->ok_call('eval', { id => $id, at => '2024-06-01T23:59:59+09:00' });
is($e3->{at}, '2024-06-01T23:59:59+09:00', 'an explicit `at` of the same day is echoed');
is(memo($d)->{hits}, $h + 1, '... and answered from the memo');
is_deeply(sans_at($e3), sans_at($e1), '... with the same answer');
my $mi = memo($d)->{misses};
my $e4 = $d->ok_call('eval', { id => $id, at => '2025-04-01T00:00:00+09:00' });
is(memo($d)->{misses}, $mi + 1, 'an instant past the end of the measure is not in the span: computed');
is($e4->{decision}, 'ineligible', 'after the period the application is ineligible');
is_deeply($e4->{measures_in_force}, ['assessor-eligibility'], 'only the permanent measure is in force');
my $e5 = $d->ok_call('eval', { id => $id, at => '2025-03-31T23:59:59+09:00' });
is($e5->{decision}, 'eligible', 'the last second of the period is eligible (not the answer kept for after it)');

# A write drops the record's answer once it commits.
$d->ok_call('eval', { id => $id });
$d->ok_call('act', { action => 'amend', id => $id, params => { planned_liu_application => '2025-06' } });
my $e6 = $d->ok_call('eval', { id => $id });
is($e6->{decision}, 'ineligible', 'after an amend, eval answers for the new version');
ok((grep { !$_->{ok} } @{ $e6->{checks} }), 'with a failing check');
$d->ok_call('act', { action => 'amend', id => $id, params => { planned_liu_application => '2025-03' } });
is($d->ok_call('eval', { id => $id })->{decision}, 'eligible', 'and again after the change back');

# Pipelined evals of the same record, with a write among them on another connection.
my @r = $d->pipeline('eval', map { { id => $id } } 1 .. 50);
is(scalar(grep { $_->{result} && $_->{result}{decision} eq 'eligible' } @r), 50, '50 pipelined evals, all answered');
is_deeply([map { $_->{id} } @r], [map { $_->{id} } @r], 'in order');

# Records with the same answer share it; each reply still names its record.
{
	my $id2 = $d->ok_call('act', { action => 'submit', params => Liud::good_app(service_name => '別のSaaS') })->{record}{id};
	my $id3 = $d->ok_call('act', { action => 'submit', params => Liud::good_app(pledge => undef) })->{record}{id};
	my $m = memo($d);
	my ($a, $b, $c) = map { $d->ok_call('eval', { id => $_ }) } $id, $id2, $id3;
	my $m2 = memo($d);
	is($m2->{entries}, $m->{entries} + 2, 'two more records kept');
	is($m2->{distinct}, 2, 'two distinct answers: the eligible ones share theirs');
	is($b->{id}, $id2, 'a shared answer names its own record');
	is($d->ok_call('eval', { id => $id2 })->{id}, $id2, '... also when it comes from the memo');
	is($c->{decision}, 'ineligible', 'an application without its pledge is ineligible');
	is($d->ok_call('eval', { id => $id3 })->{decision}, 'ineligible', '... from the memo too');
}

# liuctl status tells the memo's figures.
{
	my $out = `bin/liuctl --socket $d->{sock} status 2>&1`;
	like($out, qr/eval memo:\s+\d+ answers \(\d+ distinct\), .*% of \d+ evals answered from it/,
	     'liuctl status shows the eval memo');
}

# String ids in requests are echoed as JSON strings.
{
	my $s = $d->connect;
	print $s json->encode({ jsonrpc => '2.0', id => "q\"1", method => 'eval', params => { id => $id } }), "\n";
	my $line = <$s>;
	my $rep = json->decode($line);
	is($rep->{id}, "q\"1", 'a string request id with a quote comes back intact');
	is($rep->{result}{id}, $id, 'and the result names the record');
	close $s;
}

# clock.set moves "now": the kept answer is not used across the end of the period.
$d->ok_call('clock.set', { now => '2025-04-01T00:00:01+09:00' });
my $e7 = $d->ok_call('eval', { id => $id });
is_deeply($e7->{measures_in_force}, ['assessor-eligibility'], 'after clock.set past the deadline, eval sees it');

# A reload swaps the pack: answers of the old pack are not reused.
my $dir = tempdir('liud-memo-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('cp', '-r', 'rules/ismap-liu', "$dir/pack") == 0 or die;
$d->ok_call('clock.set', { now => '2024-06-02T09:00:00+09:00' });
my $before = $d->ok_call('eval', { id => $id });
open my $f, '>>', "$dir/pack/20-checks.lua" or die;
print $f "\n-- a test edit: nothing changes but the version\n";
close $f;
$d->ok_call('rules.reload', { path => "$dir/pack" });
my $after = $d->ok_call('eval', { id => $id });
isnt($after->{rules_version}, $before->{rules_version}, 'after a reload eval names the new pack');
is(memo($d)->{entries}, 1, 'the memo was emptied at the swap (one new entry)');
ok($d->ok_call('audit.verify')->{ok}, 'the audit chain holds');
$d->stop;

# A pack without eval_by_date: nothing is kept.
{
	my $m = Liud::start_daemon(clock => '2024-06-01T10:00:00+09:00', rules => 'tests/packs/mini');
	my $n = $m->ok_call("act", { action => "create", params => { text => "x" } })->{record};
	$m->ok_call('eval', { id => $n->{id} }) for 1 .. 3;
	is(memo($m)->{hits} + memo($m)->{entries}, 0, 'a pack that does not declare eval_by_date is never memoised');
	$m->stop;
}

# A pack that declares eval_by_date but looks at the time of day fails its tests.
{
	my $p = tempdir('liud-memo-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	make_path("$p/tests");
	open my $g, '>:utf8', "$p/00-pack.lua" or die;
	print $g <<'LUA';
pack { name = "hourly", title = { ja = "時刻", en = "hourly" }, eval_by_date = true }
measure "m" { title = { ja = "m", en = "m" }, from = "2024-01-01" }
kind "thing" { states = { "new" }, id_prefix = "T-" }
check "morning" {
  function (d, at)
    if (at + 9 * 3600) % 86400 < 12 * 3600 then return pass() end
    return fail { ja = "午後です", en = "it is afternoon" }
  end,
}
LUA
	close $g;
	open $g, '>', "$p/tests/t.lua" or die;
	print $g qq{case "in the morning" { at = "2024-06-01T09:00:00+09:00", kind = "thing", data = {}, expect = "eligible" }\n};
	close $g;
	my $out = `bin/liud test $p 2>&1`;
	isnt($? >> 8, 0, 'liud test fails for a pack whose eval depends on the time of day');
	like($out, qr/eval_by_date: eval at .* differs/, 'naming eval_by_date as the cause');

	# ... and one whose answer shows updated_at (staged enforcement computes
	# answers before the time of the write is known).
	open $g, '>:utf8', "$p/00-pack.lua" or die;
	print $g <<'LUA';
pack { name = "stamped", title = { ja = "更新", en = "stamped" }, eval_by_date = true }
measure "m" { title = { ja = "m", en = "m" }, from = "2024-01-01" }
kind "thing" { states = { "new" }, id_prefix = "T-" }
check "any" { function (d, at) return pass() end }
summary "touched" (function (d, at, rec) return rec.updated_at or "never" end)
LUA
	close $g;
	$out = `bin/liud test $p 2>&1`;
	isnt($? >> 8, 0, 'liud test fails for a pack whose eval shows updated_at');
	like($out, qr/eval_by_date: eval depends on the record's updated_at/, 'naming updated_at as the cause');
}

done_testing;
