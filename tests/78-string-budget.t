#!/usr/bin/perl
# The budget counts C string work: one VM instruction can be a library call
# that works through tens of megabytes ((s):upper(), plain find, rep, concat)
# or millions of elements (table.sort, table.move),
# and the count hook fires only every so many instructions, so a loop of them
# ran for minutes under `liud check` before its time limit was looked at.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);

my $tmp = tempdir('liud-strbudget-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $bin = bin_dir();
my $n = 0;
sub pack_with {
	my ($extra) = @_;
	my $dir = "$tmp/p" . ++$n;
	system('cp', '-r', 'tests/packs/mini', $dir) == 0 or die;
	system('rm', '-rf', "$dir/tests");
	open my $f, '>>', "$dir/main.lua" or die;
	print $f "\n$extra\n";
	close $f;
	return $dir;
}

# A tight rule budget (200 ms a call, so 4 s to load a pack) keeps the test
# short; the old hook looked at the clock only every 10,000 instructions,
# some 20 s of these loops.
open my $cf, '>', "$tmp/liud.conf" or die;
print $cf "rule_budget = { time_ms = 200, check_s = 60 }\n";
close $cf;
my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini', conf => "$tmp/liud.conf");

sub check_limited {
	my ($limit, $dir) = @_;
	my $t = time;
	my $r = eval {
		local $SIG{ALRM} = sub { die "timeout\n" };
		alarm $limit;
		my $x = $d->call('rules.check', { path => $dir });
		alarm 0;
		$x;
	};
	alarm 0;
	return (json()->encode($r // { timeout => 1 }), time - $t);
}

for my $case (
	[ 'upper', 'local s = string.rep("x", 1e7); while true do local u = s:upper() end' ],
	[ 'plain find', 'local s = string.rep("x", 2e7); while true do local u = s:find("y", 1, true) end' ],
	[ 'utf8.len', 'local s = string.rep("x", 2e7); while true do local u = utf8.len(s) end' ],
	[ 'table.sort', 'local t = {} for i = 1, 2e6 do t[i] = (i * 7919) % 1000003 end; while true do table.sort(t) end' ],
	[ 'table.move', 'local t = {} for i = 1, 2e6 do t[i] = i end; while true do table.move(t, 1, 2e6, 1) end' ],
	[ 'table.concat', 'local t = {} for i = 1, 1000 do t[i] = string.rep("x", 1e4) end; while true do local u = table.concat(t) end' ],
) {
	my ($name, $code) = @$case;
	my ($text, $secs) = check_limited(20, pack_with($code));
	like($text, qr/rule call stopped: over its budget/, "$name in a loop: stopped by the budget");
	cmp_ok($secs, '<', 10, "$name in a loop: ends within the load budget (took " . sprintf('%.1f', $secs) . " s)");
}
ok($d->alive, 'the daemon is still up');

# Ordinary string work is not charged out of reach: the real pack checks.
my $r = $d->call('rules.check', { path => 'rules/ismap-liu' });
ok(!$r->{error}, 'the real pack still checks') or diag(json()->encode($r));

$d->stop;
done_testing;
