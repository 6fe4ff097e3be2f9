#!/usr/bin/perl
# A reload of the version already live changes nothing and says so (no
# history row); after a rollback, a reload that names the folder is asked
# for on purpose: it is done, with a log line (only a plain reload refuses).
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
my $rows = scalar @{ $d->ok_call('rules.history', {})->{history} // [] };

# The folder holds the live version: nothing to do.
my $r = $d->ok_call('rules.reload', {});
ok($r->{unchanged}, 'a plain reload of the live version says it changed nothing');
is($r->{version}, $v1, 'the version stays');
is(scalar @{ $d->ok_call('rules.history', {})->{history} }, $rows, 'and adds no history row');
my $out = `$ctl rules reload 2>&1`;
is($?, 0, 'liuctl rules reload succeeds');
like($out, qr/already live: nothing changed/, 'saying nothing changed') or diag $out;
unlike($out, qr/\(was /, 'not "version X (was X)"');
$out = `$ctl rules reload $pack 2>&1`;
like($out, qr/already live: nothing changed/, 'the same when the folder is named') or diag $out;
is(scalar @{ $d->ok_call('rules.history', {})->{history} }, $rows, 'still no history row');

# A change, a rollback, then the folder named explicitly.
edit('till = "2024-12-31"', 'till = "2024-05-31"');
my $v2 = $d->ok_call('rules.reload', {})->{version};
isnt($v2, $v1, 'a changed folder reloads');
$d->ok_call('rules.rollback', { version => $v1 });
is($d->ok_call('rules.status')->{version}, $v1, 'rolled back');
ok($d->call('rules.reload', {})->{error}, 'a plain reload of the rolled-back version is refused');
$out = `$ctl rules reload $pack 2>&1`;
is($?, 0, 'liuctl rules reload <folder> (explicit) is done') or diag $out;
like($out, qr/reloaded \Q$pack\E/, 'saying from where');
is($d->ok_call('rules.status')->{version}, $v2, 'the version the folder holds is live again');
like($d->log_text, qr/puts back version \Q${\ substr($v2, 0, 12)}\E, the one rolled back/, 'and the log says so');
$d->stop;
done_testing;
