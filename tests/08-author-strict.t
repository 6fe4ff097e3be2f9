#!/usr/bin/perl
# What an author met writing a pack from docs/RULES.md:
# - a test's check, rows check or case summary that returns nothing fails;
# - the eval_by_date self-check finds a rule on the time of day between two
#   hours (tests/packs/lunch-window refuses from 12:15 to 12:45 JST) and says
#   which times of day it looked at;
# - a declaration error names the pack's file and line of the declaration,
#   once, with no traceback and no line of the prelude;
# - declarations are as strict as the guide says (state_titles, columns,
#   summary_fields, a measure's period).
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Path qw(make_path);

binmode Test::More->builder->$_, ':utf8' for qw(output failure_output todo_output);
my $liud = Liud::bin_dir() . '/liud';

my $BASE = <<'LUA';
pack { name = "author", title = { ja = "作者", en = "author" } }
measure "year" { title = { ja = "年", en = "year" }, temporary = true, from = "2024-01-01", till = "2024-12-31" }
kind "note" { id_prefix = "N-", states = { "open" } }
check "always" { function () return pass() end }
role "clerk" { title = { ja = "係", en = "clerk" } }
action "create" { kind = "note", roles = { "clerk" }, creates = true, to = "open" }
view "open" { kind = "note", roles = { "clerk" }, columns = { { id = "text" } }, row = function (d) return { text = d.text } end }
LUA

# A pack folder holding 00-pack.lua = $pack (and tests/t.lua = $tests);
# runs liud $cmd on it.
sub run_pack {
	my ($cmd, $pack, $tests) = @_;
	my $p = tempdir('liud-author-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	make_path("$p/tests");
	open my $g, '>:utf8', "$p/00-pack.lua" or die; print $g $pack; close $g;
	if (defined $tests) { open $g, '>:utf8', "$p/tests/t.lua" or die; print $g $tests; close $g; }
	my $out = `$liud $cmd $p 2>&1`;
	utf8::decode($out);
	return ($? >> 8, $out);
}

# ---- a check that returns nothing
{
	my ($rc, $out) = run_pack('test', $BASE, <<'LUA');
scenario "fine" { at = "2024-06-01", { act = "create", as = "clerk", check = function (r) return r.state == "open" end } }
LUA
	is($rc, 0, 'a check that returns true passes') or diag $out;
	for my $t (
		[ 'a scenario check', 'scenario "x" { at = "2024-06-01", { act = "create", as = "clerk", check = function (r) local _ = r.state == "open" end } }', qr/the check returned nothing/ ],
		[ 'a rows check', 'scenario "x" { at = "2024-06-01", { act = "create", as = "clerk" }, { view = "open", rows_check = function (rows) local _ = #rows end } }', qr/the rows check returned nothing/ ],
		[ 'a case summary', 'case "x" { at = "2024-06-01", kind = "note", summary = function (res) local _ = res.decision end }', qr/summary check returned nothing/ ],
	) {
		my ($what, $tests, $re) = @$t;
		($rc, $out) = run_pack('test', $BASE, $tests);
		isnt($rc, 0, "$what that returns nothing fails");
		like($out, $re, "$what: saying so");
	}
}

# ---- eval_by_date: a rule on the time of day between two hours
{
	my $out = `$liud test tests/packs/lunch-window 2>&1`;
	isnt($? >> 8, 0, 'a pack refusing from 12:15 to 12:45 JST fails its self-check, though its tests are at hours');
	like($out, qr/eval at 2024-06-01T12:15:00\+09:00 differs from eval at 2024-06-01T00:00:00\+09:00/,
	     'naming the instant where the answer changes');
	like($out, qr/^# eval_by_date: .*times of day the pack's files write \(JST\): [^\n]*12:15, 12:45/m,
	     'and the report says which times of day were checked');
}

# The same window computed with arithmetic on `at` (no time written as
# text): the comparisons with `at` are where the answer changes.
{
	(my $pack = $BASE) =~ s/check "always" \{ function \(\) return pass\(\) end \}/check "lunch" { function (d, at)
  local sod = (at + 32400) % 86400
  if sod >= 44100 and sod < 45900 then return fail { ja = "昼休み", en = "lunch break" } end
  return pass() end }/ or die;
	$pack =~ s/pack \{ name = "author",/pack { name = "author", eval_by_date = true,/ or die;
	my ($rc, $out) = run_pack('test', $pack, <<'LUA');
case "eligible at noon" { at = "2024-06-01T12:00+09:00", kind = "note", data = {}, expect = "eligible" }
LUA
	isnt($rc, 0, 'a window computed from `at` between two hours fails the self-check');
	like($out, qr/eval at 2024-06-01T12:15:00\+09:00 differs/, 'naming where it starts');
	like($out, qr/^# eval_by_date: .*compared the time with: [^\n]*2024-06-01T12:15:00\+09:00, 2024-06-01T12:45:00\+09:00/m,
	     'and listing the instants found') or diag $out;
}

# ---- declaration errors: file:line of the declaration, once, in words
for my $t (
	[ 'measure "m9" { temporary = true, from = "2024-01-01", till = "2024-13-45" }', qr/till/ ],
	[ 'kind "k8" { states = { "a" }, key = 3 }', qr/kind "k8": key/ ],
	[ 'role "admin" { title = { ja = "管理", en = "admin" } }', qr/role "admin" is the core's/ ],
	[ 'measure "m9" { from = "2024-01-01", till = "2024-12-31" }', qr/a permanent measure has no end/ ],
	# declarations as strict as the guide says
	[ 'kind "k9" { states = { "a" }, state_titles = { b = { ja = "乙", en = "b" } } }', qr/state_titles: no state `b`/ ],
	[ 'view "v" { kind = "note", roles = { "clerk" }, columns = { { id = "x", ja = "x", eng = "x" } }, row = function () return {} end }', qr/columns\[1\]: unknown key `eng`/ ],
	[ 'kind "k9" { states = { "a" }, summary_fields = { { id = "x", jp = "甲" } } }', qr/summary_fields\[1\]: unknown key `jp`/ ],
	[ 'measure "m9" { temporary = true, form = "2024-01-01", till = "2024-12-31" }', qr/unknown key `form` \(did you mean `from`\?\)/ ],
	[ 'measure "m9" { form = "2024-01-01" }', qr/unknown key `form`/ ],
	[ 'measure "m9" { temporary = true, till = "2024-12-31" }', qr/a temporary measure needs `from` or `since`/ ],
) {
	my ($decl, $re) = @$t;
	my ($rc, $out) = run_pack('check', "$BASE\n$decl\n");
	isnt($rc, 0, "refused: $decl");
	like($out, $re, '... saying why');
	like($out, qr{/00-pack\.lua:9: }, '... at the file and line of the declaration');
	unlike($out, qr/prelude|stack traceback/, '... with nothing of the engine');
	my @n = ($out =~ /00-pack\.lua:9:/g);
	is(scalar @n, 1, '... once');
}
# The same through the daemon: `liuctl rules check` says it once, in words.
{
	my $bad = tempdir('liud-author-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	open my $g, '>:utf8', "$bad/00-pack.lua" or die;
	print $g "$BASE\nmeasure \"m9\" { from = \"2024-01-01\", till = \"2024-12-31\" }\n";
	close $g;
	my $d = Liud::start_daemon(clock => '2024-06-01T12:00:00+09:00', rules => 'tests/packs/mini');
	my $out = `${\ Liud::bin_dir()}/liuctl --socket $d->{sock} rules check $bad 2>&1`;
	utf8::decode($out);
	isnt($?, 0, 'liuctl rules check of the pack fails');
	my @n = ($out =~ /a permanent measure has no end/g);
	is(scalar @n, 1, 'saying why once') or diag $out;
	like($out, qr{/00-pack\.lua:9: }, 'at the declaration');
	unlike($out, qr/prelude|stack traceback|not named/, 'with nothing of the engine');
	$d->stop;
}

# A pack's figures stay the pack's.
{
	my ($rc, $out) = run_pack('check', "$BASE\nmeasure \"m9\" { temporary = true, from = \"2024-01-01\", till = \"2024-12-31\", cap = 3, fee = 1 }\n");
	is($rc, 0, "a measure's own figures are kept") or diag $out;
}
done_testing;
