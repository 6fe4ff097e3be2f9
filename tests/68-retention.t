#!/usr/bin/perl
# Kept pack versions: the store keeps the files of the last
# storage.pack_versions activated versions (never fewer than the live one
# and the one before it), not every version ever activated; the folders a
# rollback or a start writes the kept files to do not pile up under db/packs.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

my $tmp = tempdir('liud-keep-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('cp', '-r', 'tests/packs/mini', "$tmp/mini") == 0 or die;
my $pack = "$tmp/mini";
open my $c, '>', "$tmp/liud.conf" or die;
print $c "storage = { pack_versions = 3 }\n";
close $c;
my $n = 0;
sub bump { # a new version of the pack: one more comment line
	open my $f, '>>', "$pack/main.lua" or die;
	print $f "-- edit ", ++$n, "\n";
	close $f;
}

my $d = Liud::start_daemon(clock => '2024-06-01T12:00:00+09:00', rules => $pack,
			   conf => "$tmp/liud.conf");
my @v = ($d->ok_call('rules.status')->{version});
for (1 .. 4) {
	bump();
	push @v, $d->ok_call('rules.reload', {})->{version};
}
is(scalar(keys %{ { map { $_ => 1 } @v } }), 5, 'five versions were live, one after another');
my $h = $d->ok_call('rules.history')->{history};
is_deeply([ map { $_->{kept} ? 1 : 0 } @$h ], [1, 1, 1, 0, 0],
	  'the history says which versions are kept: the last three');
my $e = $d->call('rules.rollback', { version => substr($v[0], 0, 12) });
is($e->{error}{code}, -32602, 'a version past the retention cannot be rolled back to');
like($e->{error}{message}, qr/pack_versions/, 'and the error names the setting that keeps versions');
my $r = $d->ok_call('rules.rollback', { version => substr($v[2], 0, 12) });
is($r->{version}, $v[2], 'the oldest kept version can');
$r = $d->ok_call('rules.rollback', { version => substr($v[3], 0, 12) });
is($r->{version}, $v[3], 'and a second rollback too');
opendir my $dh, "$d->{db}/packs" or die "$d->{db}/packs: $!";
my @dirs = grep { !/^\./ } readdir $dh;
closedir $dh;
is(scalar @dirs, 1, 'only the live rollback\'s folder is left under db/packs') or diag "@dirs";
like($d->ok_call('rules.status')->{dir}, qr/\Q$dirs[0]\E/, 'and it is the live one');
$h = $d->ok_call('rules.history')->{history};
is($h->[0]{version}, $v[3], 'the live version heads the history');
ok($h->[0]{kept} && $h->[1]{kept}, 'the live version and the one before it are kept');
# A restart serving the rolled-back version writes it out again, and the
# folder of the run before goes.
$d->stop;
$d->start;
is($d->ok_call('rules.status')->{version}, $v[3], 'the rollback holds over a restart');
opendir $dh, "$d->{db}/packs" or die;
@dirs = grep { !/^\./ } readdir $dh;
closedir $dh;
is(scalar @dirs, 1, 'one folder under db/packs after the restart') or diag "@dirs";
like($d->log_text, qr/rules: dropped the kept files of \d+ version/, 'the log says versions were dropped');
$d->stop;

# A misspelt setting inside a table is refused at start, by its full name
# (it used to be ignored, and the default kept without a word).
for my $t (['storage = { pack_version = 3 }', 'storage.pack_version'],
	   ['rule_budget = { time_sec = 3 }', 'rule_budget.time_sec'],
	   ['log_rate = { lines = 3 }', 'log_rate.lines'],
	   ['storage = { pack_versions = 1 }', 'storage.pack_versions: must be a whole number from 2']) {
	open my $b, '>', "$tmp/bad.conf" or die;
	print $b "$t->[0]\n";
	close $b;
	my $x = Liud::start_daemon(rules => $pack, conf => "$tmp/bad.conf", expect_exit => 1);
	ok(!$x->alive, "liud does not start with $t->[0]");
	like($x->log_text, qr/\Q$t->[1]\E/, "and names $t->[1]");
}
done_testing();
