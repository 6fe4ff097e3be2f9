#!/usr/bin/perl
# rules.diff separates outcome changes (decision, failing checks, state,
# deadlines) from wording-only changes (a check's reason reworded), counts
# them apart, lists them apart, and never lists a row whose before and after
# are equal.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use JSON::PP;

my $tmp = tempdir('liud-pack-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('cp', '-r', 'tests/packs/mini', "$tmp/mini") == 0 or die;
my $pack = "$tmp/mini";
sub edit { my ($from, $to) = @_; local @ARGV = ("$pack/main.lua"); local $^I = ''; my $n = 0; while (<>) { $n += s/\Q$from\E/$to/; print } die "no $from" unless $n }

my $d = Liud::start_daemon(clock => '2024-06-01T12:00:00+09:00', rules => $pack);
$d->ok_call('act', { action => 'create', params => { text => "n$_" } }) for 1 .. 5;

# Only the reason's wording changes.
edit('fail { ja = "期間外です", en = "outside the window" }', 'fail { ja = "受付期間外です", en = "outside the period" }');
my $x = $d->ok_call('rules.diff', { path => $pack, at => '2025-02-01' });
is($x->{records}, 5, 'every record looked at');
is($x->{changed}, 0, 'a reworded reason changes no outcome');
is(scalar @{ $x->{differences} }, 0, 'and lists none as changed');
is($x->{wording_changed}, 5, 'wording changes are counted apart');
is(scalar @{ $x->{wording} // [] }, 5, 'and listed apart');
my $w = $x->{wording}[0];
is($w->{checks}[0]{id}, 'open-window', 'naming the check');
is($w->{checks}[0]{before}{en}, 'outside the window', 'its reason before');
is($w->{checks}[0]{after}{en}, 'outside the period', 'and after');
for my $row (@{ $x->{differences} }, @{ $x->{wording} // [] }) {
	my ($b, $a) = map { JSON::PP->new->canonical->encode($_) } ($row->{before} // $row->{checks}[0]{before}, $row->{after} // $row->{checks}[0]{after});
	isnt($b, $a, "row $row->{id}: before and after differ");
}

my $out = `${\ Liud::bin_dir()}/liuctl --socket $d->{sock} rules diff $pack --at 2025-02-01 2>&1`;
like($out, qr/0 records? change/, 'liuctl: no outcome changes, in words') or diag $out;
like($out, qr/5 records? .*wording/, 'liuctl: the wording changes counted apart') or diag $out;
like($out, qr/outside the period/, 'liuctl: with the new wording');

# A wording change and an outcome change together: both said, apart.
edit('till = "2024-12-31"', 'till = "2024-06-30"');
$x = $d->ok_call('rules.diff', { path => $pack, at => '2024-07-15' });
is($x->{changed}, 5, 'the window ends sooner: every decision changes');
is($x->{wording_changed}, 0, 'its rows are outcome changes, not wording ones');
my $one = $x->{differences}[0];
isnt($one->{before}{decision}, $one->{after}{decision}, 'a listed row differs in what it shows');

done_testing;
