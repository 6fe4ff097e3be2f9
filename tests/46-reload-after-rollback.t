#!/usr/bin/perl
# After `rules rollback`, a plain `rules reload` reads the last folder given:
# the reply and liuctl say which folder, and a reload of a folder that still
# holds the version rolled back is refused (naming the folder) unless asked
# for on purpose (force, liuctl --force).
use strict;
use warnings;
use utf8;
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
edit('till = "2024-12-31"', 'till = "2024-05-31"');       # the bad change
my $r = $d->ok_call('rules.reload', {});
my $v2 = $r->{version};
is($r->{reload_folder}, $pack, 'a reload names the folder a plain reload reads');

my $out = `$ctl rules rollback ${\ substr($v1, 0, 12)} 2>&1`;
is($?, 0, 'liuctl rules rollback succeeds');
is($d->ok_call('rules.status')->{version}, $v1, 'the first version is live again');
like($out, qr/rolled back to version \Q${\ substr($v1, 0, 12)}\E/, 'liuctl says what was rolled back to');
like($out, qr/\Q$pack\E/, 'and names the folder a plain reload reads');
like($out, qr/--force/, 'and that a plain reload of it needs --force');

# A plain reload: the folder still holds the rolled-back version.
my $e = $d->call('rules.reload', {});
ok($e->{error}, 'a plain reload of the folder holding the rolled-back version is refused');
like($e->{error}{message} // '', qr/\Q$pack\E/, 'naming the folder');
like($e->{error}{message} // '', qr/rolled back/, 'and why');
like($e->{error}{message} // '', qr/force/, 'and how to ask for it anyway');
is($d->ok_call('rules.status')->{version}, $v1, 'the rolled-back-to version stays live');
$out = `$ctl rules reload 2>&1`;
isnt($?, 0, 'liuctl rules reload fails too');
like($out, qr/\Q$pack\E.*rolled back/s, 'saying the same');

# Also after a restart (the rollback is kept).
$d->stop;
$d->start;
is($d->ok_call('rules.status')->{version}, $v1, 'after a restart the rollback holds');
$e = $d->call('rules.reload', {});
ok($e->{error}, 'and a plain reload is still refused');

# On purpose: --force.
$out = `$ctl rules reload --force 2>&1`;
is($?, 0, 'liuctl rules reload --force re-activates it') or diag $out;
like($out, qr/reloaded \Q$pack\E/, 'saying from where');
is($d->ok_call('rules.status')->{version}, $v2, 'the rolled-back version is live again');

# Roll back again, then change the folder: a new version reloads plainly.
$d->ok_call('rules.rollback', { version => $v1 });
edit('till = "2024-05-31"', 'till = "2024-11-30"');
$r = $d->ok_call('rules.reload', {});
ok($r->{version} ne $v1 && $r->{version} ne $v2, 'a changed folder reloads without force');
done_testing;
