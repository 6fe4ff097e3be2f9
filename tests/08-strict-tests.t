#!/usr/bin/perl
# `liud test` is strict: a test that could pass while checking nothing is an
# error.  Unknown keys in a case, a scenario or a step; ids the pack does not
# declare (actions, checks, views, kinds, states, measures, roles, records of
# the scenario); ids a pack's own test helpers declare through strict();
# tests that assert nothing.  And the eval_by_date self-check compares eval
# at every instant where an outcome can change, not only at a day's ends.
# Each pack here is small and inline; each is run through `liud test`.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Path qw(make_path);

binmode Test::More->builder->$_, ':utf8' for qw(output failure_output todo_output);

# A pack with one kind, two actions, a view and a check that passes in 2024.
my $PACK = <<'LUA';
pack { name = "strict", title = { ja = "厳格", en = "strict" } }
measure "year" { title = { ja = "年", en = "year" }, temporary = true, from = "2024-01-01", till = "2024-12-31" }
kind "note" { id_prefix = "N-", states = { "open", "closed" } }
check "in-year" { function (d, at) if in_force("year", at) then return pass() end
  return fail { ja = "期間外", en = "outside the year" } end }
role "clerk" { title = { ja = "係", en = "clerk" } }
action "create" { kind = "note", roles = { "clerk" }, creates = true, to = "open" }
action "close" { kind = "note", roles = { "clerk" }, from = { "open" }, to = "closed" }
view "open" { kind = "note", roles = { "clerk" }, states = { "open" },
  columns = { { id = "text" } }, row = function (d) return { text = d.text } end }
LUA

# liud test on a pack folder holding 00-pack.lua = $pack and tests/t.lua = $tests.
sub run_pack {
	my ($pack, $tests) = @_;
	my $p = tempdir('liud-strict-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	make_path("$p/tests");
	open my $g, '>:utf8', "$p/00-pack.lua" or die; print $g $pack; close $g;
	open $g, '>:utf8', "$p/tests/t.lua" or die; print $g $tests; close $g;
	my $out = `${\ Liud::bin_dir()}/liud test $p 2>&1`;
	utf8::decode($out);
	return ($? >> 8, $out);
}

# The test must fail (not ok), with a diagnostic matching each of @like.
sub fails_with {
	my ($what, $tests, @like) = @_;
	my ($rc, $out) = run_pack($PACK, $tests);
	isnt($rc, 0, "$what: liud test fails");
	like($out, $_, "$what: $_") for @like;
	unlike($out, qr/prelude:\d+/, "$what: the message is in words, not a line of the prelude");
}

# A good pack passes, so what fails below fails for what it tests.
{
	my ($rc, $out) = run_pack($PACK, <<'LUA');
case "in the year" { at = "2024-06-01", kind = "note", data = {}, expect = "eligible", fails = {}, in_force = { "year" } }
scenario "create and close" { at = "2024-06-01",
  { act = "create", as = "clerk", params = { text = "x" }, state = "open" },
  { view = "open", as = "clerk", rows = 1 },
  { act = "close", as = "clerk", state = "closed", eval = "eligible" },
}
LUA
	is($rc, 0, 'a pack whose tests are well formed passes') or diag($out);
}

# ---- item 4: unknown keys
fails_with('a misspelt key in a case', <<'LUA', qr/unknown key `expectt`/, qr/a case takes: .*expect/);
case "typo" { at = "2024-06-01", kind = "note", data = {}, expectt = "ineligible" }
LUA
fails_with('a misspelt key in a step', <<'LUA', qr/step 2: unknown key `stat`/, qr/a step takes: .*state/);
scenario "typo" { at = "2024-06-01",
  { act = "create", as = "clerk", params = {} },
  { act = "close", as = "clerk", stat = "open" },
}
LUA
fails_with('a misspelt key in a scenario', <<'LUA', qr/unknown key `att`/, qr/a scenario takes: at/);
scenario "typo" { att = "2024-06-01", { act = "create", as = "clerk", params = {} } }
LUA

# ---- item 4: ids the pack does not declare
fails_with('an action that does not exist', <<'LUA', qr/no action `clos`.*declares: create, close/);
scenario "no such action" { at = "2024-06-01",
  { act = "create", as = "clerk", params = {} },
  { act = "clos", as = "clerk", expect = "invalid" },
}
LUA
fails_with('a check that does not exist', <<'LUA', qr/fails: no check `in-yaer`/);
case "bad check" { at = "2025-06-01", kind = "note", data = {}, expect = "ineligible", fails = { "in-yaer" } }
LUA
fails_with('a measure that does not exist', <<'LUA', qr/not_in_force: no measure `yaer`/);
case "bad measure" { at = "2025-06-01", kind = "note", data = {}, expect = "ineligible", not_in_force = { "yaer" } }
LUA
fails_with('a state that does not exist', <<'LUA', qr/state: `opened` is not a state of note/);
scenario "bad state" { at = "2024-06-01", { act = "create", as = "clerk", params = {}, state = "opened" } }
LUA
fails_with('a role no action or view names', <<'LUA', qr/as: no role `clerc`/);
scenario "bad role" { at = "2024-06-01", { act = "create", as = "clerc", params = {}, expect = "forbidden" } }
LUA
fails_with('a record the scenario has not made', <<'LUA', qr/id: no record `N-9` in this scenario/);
scenario "bad id" { at = "2024-06-01",
  { act = "create", as = "clerk", params = {} },
  { act = "close", as = "clerk", id = "N-9", expect = "invalid" },
}
LUA
fails_with('a value expect cannot take', <<'LUA', qr/expect: `refuse` is not one of ok, refused, invalid, forbidden/);
scenario "bad expect" { at = "2024-06-01", { act = "create", as = "clerk", params = {}, expect = "refuse" } }
LUA

# ---- item 4: tests that assert nothing
fails_with('a case that asserts nothing', <<'LUA', qr/asserts nothing/);
case "nothing" { at = "2024-06-01", kind = "note", data = {} }
LUA
fails_with('a scenario that asserts nothing', <<'LUA', qr/asserts nothing/);
scenario "nothing" { at = "2024-06-01", { at = "2024-07-01" } }
LUA

# ---- item 4: ids a pack's tests may name, declared with strict()
{
	my $helpers = <<'LUA';
KNOWN = { "a", "b" }
function with(fn) local t = strict({ a = 1, b = 2 }, KNOWN, "control"); fn(t); return t end
LUA
	my ($rc, $out) = run_pack($PACK, $helpers . <<'LUA');
case "clears a known id" { at = "2024-06-01", kind = "note", data = with(function (t) t.a = nil end), expect = "eligible" }
LUA
	is($rc, 0, 'strict(): a known id may be cleared') or diag($out);
	($rc, $out) = run_pack($PACK, $helpers . <<'LUA');
case "clears an unknown id" { at = "2024-06-01", kind = "note", data = with(function (t) t["c.PB"] = nil end), expect = "eligible" }
LUA
	isnt($rc, 0, 'strict(): clearing an id not declared fails');
	like($out, qr/tests\/t\.lua:\d+: no control `c\.PB` \(2 declared, such as a, b\)/, 'naming the id, the file and line');
}

# ---- item 8: a scenario's eval step without a record
fails_with('an eval step before any record', <<'LUA', qr/step 1: eval: no record yet/);
scenario "eval first" { at = "2024-06-01", { eval = "eligible" } }
LUA

# ---- item 5: the eval_by_date self-check at every instant where an outcome can change
my $BYDATE = <<'LUA';
pack { name = "lunch", title = { ja = "昼", en = "lunch" }, eval_by_date = true %s }
measure "year" { title = { ja = "年", en = "year" }, temporary = true, from = "2024-01-01", till = "2024-12-31" }
kind "note" { id_prefix = "N-", states = { "open" } }
check "rule" { %s }
role "clerk" { title = { ja = "係", en = "clerk" } }
action "create" { kind = "note", roles = { "clerk" }, creates = true, to = "open",
  run = function (d, p, at, rec) if not evaluate(rec, at) then refuse { ja = "不可", en = "not now" } end end }
LUA
{
	# A rule that refuses from 12:00 to 13:00 JST, written on the time of
	# day: eval at 00:00 and 23:59:59 agree, act at 12:30 refuses.
	my $pack = sprintf($BYDATE, '', <<'LUA');
function (d, at) local hm = jst(at):sub(12, 16)
  if hm >= "12:00" and hm < "13:00" then return fail { ja = "昼休み", en = "lunch break" } end
  return pass() end
LUA
	my ($rc, $out) = run_pack($pack, <<'LUA');
case "eligible on the day" { at = "2024-06-01", kind = "note", data = {}, expect = "eligible" }
scenario "acted at 12:30" { at = "2024-06-01T12:30+09:00", { act = "create", as = "clerk", expect = "refused" } }
LUA
	isnt($rc, 0, 'a rule on the time of day is caught though the test is at 00:00');
	like($out, qr/eval_by_date: eval at 2024-06-01T12:00:00\+09:00 differs from eval at 2024-06-01T00:00:00\+09:00/,
	     'naming the instant where the answer changes');
	like($out, qr/^# eval_by_date: .*every hour/m, 'the report says which instants were checked');

	# A window between instants the rule computes with instant(), off the
	# hour: the day's ends and its hours agree, each side of those instants
	# does not.
	$pack = sprintf($BYDATE, '', <<'LUA');
function (d, at) if at >= instant("2024-06-01T15:47:13+09:00") and at < instant("2024-06-01T15:52:00+09:00") then
  return fail { ja = "点検中", en = "maintenance" } end
  return pass() end
LUA
	($rc, $out) = run_pack($pack, <<'LUA');
case "eligible in the morning" { at = "2024-06-01T09:00+09:00", kind = "note", data = {}, expect = "eligible" }
LUA
	isnt($rc, 0, 'an instant a rule computes is checked on each side');
	like($out, qr/eval at 2024-06-01T15:47:13\+09:00 differs/, 'naming that instant');
	like($out, qr/^# eval_by_date: .*2024-06-01T15:47:13\+09:00/m, 'and listing it among the instants checked');

	# Declared in pack { instants = ... }: eval's span is cut there, the
	# promise holds, the test passes.
	$pack = sprintf($BYDATE, ', instants = { "2024-06-01T15:47:13+09:00" }', <<'LUA');
function (d, at) if at >= instant("2024-06-01T15:47:13+09:00") then return fail { ja = "終了", en = "closed" } end
  return pass() end
LUA
	($rc, $out) = run_pack($pack, <<'LUA');
case "eligible in the morning" { at = "2024-06-01T09:00+09:00", kind = "note", data = {}, expect = "eligible" }
case "not in the afternoon" { at = "2024-06-01T16:00+09:00", kind = "note", data = {}, expect = "ineligible" }
LUA
	is($rc, 0, 'an instant the pack declares cuts the span: the self-check passes') or diag($out);
	like($out, qr/^# eval_by_date: .*each side of 2024-01-01T00:00:00\+09:00, 2024-06-01T15:47:13\+09:00, 2025-01-01T00:00:00\+09:00/m,
	     'the declared boundaries (measures and instants) are listed');

	# ... and the daemon's memo does not answer across it.
	my $dir = tempdir('liud-strict-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	open my $g, '>:utf8', "$dir/00-pack.lua" or die; print $g $pack; close $g;
	my $d = Liud::start_daemon(clock => '2024-06-01T09:00:00+09:00', rules => $dir);
	my $id = $d->ok_call('act', { action => 'create', params => {} })->{record}{id};
	is($d->ok_call('eval', { id => $id })->{decision}, 'eligible', 'the daemon: eligible at 09:00');
	is($d->ok_call('eval', { id => $id, at => '2024-06-01T15:47:13+09:00' })->{decision}, 'ineligible',
	   'and not at the declared instant, the same day (not answered from the memo)');
	$d->stop;
}

done_testing;
