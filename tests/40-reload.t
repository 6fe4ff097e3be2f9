#!/usr/bin/perl
# Rule reloads: a good one swaps the version, a broken one (syntax, failing
# pack test, bad declaration) leaves the old rules live and says why; SIGHUP.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);

my $tmp = tempdir('liud-pack-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('cp', '-r', 'tests/packs/mini', "$tmp/mini") == 0 or die;
my $pack = "$tmp/mini";
sub edit { my ($from, $to) = @_; local @ARGV = ("$pack/main.lua"); local $^I = ''; while (<>) { s/\Q$from\E/$to/; print } }

my $d = Liud::start_daemon(clock => '2024-06-01', rules => $pack);
my $v1 = $d->ok_call('rules.status')->{version};
like($v1, qr/^[0-9a-f]{64}$/, 'a version hash');

# rules.check of the live folder: ok, activates nothing.
my $c = $d->ok_call('rules.check', { path => $pack });
ok($c->{ok}, 'rules.check passes');
is($c->{tests}, 1, 'and ran the pack test');
ok($c->{live}, 'and says it is the live version');

# A good change: the window shortened; reload swaps.
edit('till = "2024-12-31"', 'till = "2024-06-30"');
my $r = $d->ok_call('rules.reload', {});
isnt($r->{version}, $v1, 'reload activates a new version');
is($r->{previous}, $v1, 'and names the previous one');
my $m = $d->ok_call('rules.status')->{measures}[0];
is($m->{ends}, '2024-07-01T00:00:00+09:00', 'the new period is live');
my $v2 = $r->{version};

# A syntax error: refused, old rules live.
edit('kind "note" {', 'kind "note" {{');
my $e = $d->call('rules.reload', {});
is($e->{error}{code}, -32005, 'a syntax error gives -32005');
like($e->{error}{message}, qr{main\.lua:\d+}, 'naming file:line');
is($d->ok_call('rules.status')->{version}, $v2, 'the old rules stay live');
$e = $d->call('rules.check', { path => $pack });
is($e->{error}{code}, -32005, 'rules.check says the same');
edit('kind "note" {{', 'kind "note" {');

# A failing pack test: refused.
open my $t, '<', "$pack/tests/basic.lua"; my $tt = do { local $/; <$t> }; close $t;
$tt =~ s/expect = "refused"/expect = "ok"/;
open $t, '>', "$pack/tests/basic.lua"; print $t $tt; close $t;
$e = $d->call('rules.reload', {});
is($e->{error}{code}, -32005, 'a failing pack test refuses the reload');
like($e->{error}{message}, qr/create and close/, 'naming the failing test');
is($d->ok_call('rules.status')->{version}, $v2, 'the old rules stay live');
$tt =~ s/expect = "ok"/expect = "refused"/;
open $t, '>', "$pack/tests/basic.lua"; print $t $tt; close $t;

# A bad declaration (action naming an unknown state).
edit('to = "closed"', 'to = "shut"');
$e = $d->call('rules.reload', {});
is($e->{error}{code}, -32005, 'an invalid declaration refuses the reload');
like($e->{error}{message}, qr/to-state "shut"/, 'saying what is wrong');
edit('to = "shut"', 'to = "closed"');

# A reload of a missing folder.
$e = $d->call('rules.reload', { path => "$tmp/nope" });
is($e->{error}{code}, -32602, 'a missing folder gives -32602');

# SIGHUP reloads the folder.
edit('till = "2024-06-30"', 'till = "2024-09-30"');
kill 'HUP', $d->{pid};
my $v3;
for (1 .. 100) { $v3 = $d->ok_call('rules.status')->{version}; last if $v3 ne $v2; sleep 0.05 }
isnt($v3, $v2, 'SIGHUP reloads the rules');
like($d->log_text, qr/rules: activated how=SIGHUP by=SIGHUP/, 'and logs it');
ok($d->alive, 'the daemon is fine');
$d->stop;

# The optional watch: a saved change goes live by itself (debounced), a broken
# one is refused like any reload.
open my $wc, '>', "$tmp/watch.conf" or die;
print $wc "rules_watch = true\n";
close $wc;
my $w = Liud::start_daemon(clock => '2024-06-01', rules => $pack, conf => "$tmp/watch.conf");
my $wv1 = $w->ok_call('rules.status')->{version};
edit('till = "2024-09-30"', 'till = "2024-08-31"');
my $wv2 = $wv1;
for (1 .. 60) { $wv2 = $w->ok_call('rules.status')->{version}; last if $wv2 ne $wv1; sleep 0.1 }
isnt($wv2, $wv1, 'with rules_watch, a saved change goes live by itself');
like($w->log_text, qr/rules: activated how=watch/, 'recorded as a watch activation');
edit('kind "note" {', 'kind "note" {{');
sleep 1.2;
is($w->ok_call('rules.status')->{version}, $wv2, 'a broken save is refused and the rules stay');
like($w->log_text, qr/rules: watch refused/, 'and the log says so');
edit('kind "note" {{', 'kind "note" {');
done_testing;
