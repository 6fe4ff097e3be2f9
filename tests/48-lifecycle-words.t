#!/usr/bin/perl
# What liuctl prints after the lifecycle's commands, in words: a reload
# counts the pack tests it ran, a rollback says what it did (not raw JSON),
# `deadlines --all` counts the records a lapsed deadline changed, and moving
# the test clock back past an enforced deadline warns (reply and log).
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

my $tmp = tempdir('liud-pack-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('cp', '-r', 'tests/packs/mini', "$tmp/mini") == 0 or die;
my $pack = "$tmp/mini";
sub edit { my ($from, $to) = @_; local @ARGV = ("$pack/main.lua"); local $^I = ''; my $n = 0; while (<>) { $n += s/\Q$from\E/$to/; print } die "no $from" unless $n }

my $d = Liud::start_daemon(clock => '2024-06-01T12:00:00+09:00', rules => $pack);
my $ctl = Liud::bin_dir() . "/liuctl --socket $d->{sock}";
my $v1 = $d->ok_call('rules.status')->{version};
my $tests = $d->ok_call('rules.check', { path => $pack })->{tests};
ok($tests > 0, "the pack has tests ($tests)");

# rules reload: the tests it ran.
edit('till = "2024-12-31"', 'till = "2024-11-30"');
my $r = $d->ok_call('rules.reload', {});
is($r->{tests}, $tests, 'the reload reply counts the tests it ran');
edit('till = "2024-11-30"', 'till = "2024-12-31"');
my $out = `$ctl rules reload 2>&1`;
is($?, 0, 'liuctl rules reload');
like($out, qr/\b$tests tests? pass/, "liuctl: $tests tests pass") or diag $out;
unlike($out, qr/\b0 tests/, 'not "0 tests pass"');

# rules rollback: words, not JSON.
my $v2 = $d->ok_call('rules.status')->{version};
$out = `$ctl rules rollback ${\ substr($v1 ne $v2 ? $v1 : $v2, 0, 12)} 2>&1`;
is($?, 0, 'liuctl rules rollback');
unlike($out, qr/^\s*[{"]/m, 'no raw JSON') or diag $out;
like($out, qr/rolled back to version [0-9a-f]{12}/, 'says what it did');
like($out, qr/\b$tests tests? pass/, 'and the tests it ran');

# A deadline that lapsed: the records it changed.
$d->ok_call('act', { action => 'create', params => { text => "n$_" } }) for 1 .. 3;
$d->ok_call('act', { action => 'close', id => 'N-000003' });
$d->ok_call('clock.set', { now => '2025-01-02T00:00:00+09:00' });
$d->ok_call('enforce');
my ($dl) = grep { $_->{enforced} } @{ $d->ok_call('deadlines', { all => JSON::PP::true })->{deadlines} };
ok($dl, 'deadlines --all lists the enforced deadline');
is($dl->{records_affected}, 2, 'with the two records it changed (not 0)');
$out = `$ctl deadlines --all 2>&1`;
like($out, qr/2025-01-01 00:00\s+window\s+2\s+enforced/, 'liuctl deadlines --all: 2 records, enforced (the time in Japan time, to the minute)') or diag $out;

# The count is kept with the deadline's marker: it survives a restart (on
# a test clock still past the deadline).
$d->stop;
$d->{opt}{clock} = '2025-01-02T00:00:00+09:00';
$d->start;
($dl) = grep { $_->{enforced} } @{ $d->ok_call('deadlines', { all => JSON::PP::true })->{deadlines} };
is($dl->{records_affected}, 2, 'after a restart the lapsed deadline still counts 2 records');
like($dl->{enforced_at} // '', qr/^2025-01-02T/, 'and says when it was enforced');

# The test clock moved back past the enforced deadline: a warning.
my $c = $d->ok_call('clock.set', { now => '2024-12-01T00:00:00+09:00' });
like($c->{warning} // '', qr/2025-01-01T00:00:00\+09:00/, 'clock.set back past an enforced deadline warns, naming it');
like($c->{warning} // '', qr/window/, 'and its measure');
like($d->log_text, qr/clock: set back past enforced deadline/, 'the log says so');
# Past it again (it runs again, changing nothing new), then back with liuctl.
$d->ok_call('clock.set', { now => '2025-01-02T00:00:00+09:00' });
$d->ok_call('enforce');
$out = `$ctl clock set 2024-11-01T00:00:00+09:00 2>&1`;
like($out, qr/warning: .*2025-01-01T00:00:00\+09:00/, 'liuctl prints the warning') or diag $out;
$c = $d->ok_call('clock.set', { now => '2025-02-01T00:00:00+09:00' });
ok(!exists $c->{warning}, 'moving forward warns of nothing');
done_testing;
