#!/usr/bin/perl
# A pack file the daemon cannot read (mode 0600, another owner) is not left
# out of the live pack: `liud check` and `rules reload` refuse, naming the
# file and why, even though its author (who can read it) tests it.
#
# Needs root (to run liud as another user with setpriv); skips otherwise.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

plan skip_all => 'needs root (runs liud as nobody)' unless $> == 0;
plan skip_all => 'setpriv is not installed' unless system('sh', '-c', 'command -v setpriv >/dev/null') == 0;
my @nobody = ('setpriv', '--reuid=nobody', '--regid=' . (getgrgid((getpwnam('nobody'))[3]))[0],
	      '--clear-groups', '--');

my $tmp = tempdir('liud-unread-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
system('cp', '-r', 'tests/packs/mini', "$tmp/mini") == 0 or die;
system('chmod', '-R', 'a+rX', "$tmp/mini") == 0 or die;
my $pack = "$tmp/mini";
my $run = "$tmp/d";
mkdir $run or die;
chown((getpwnam('nobody'))[2], (getpwnam('nobody'))[3], $run) or die;

open my $c, '>', "$tmp/liud.conf" or die;
print $c "roles = { admin = { users = { \"root\" } } }\n";
close $c;
chmod 0644, "$tmp/liud.conf";
my $d = Liud::start_daemon(dir => $run, conf => "$tmp/liud.conf", clock => '2024-06-01T12:00:00+09:00', rules => $pack,
			   wrap => \@nobody);
my $v1 = $d->ok_call('rules.status')->{version};
ok($v1, 'the daemon runs the pack as nobody');

# The author adds a file only they can read, with a syntax error in it.
open my $f, '>', "$pack/extra.lua" or die;
print $f "this is not lua (\n";
close $f;
chmod 0600, "$pack/extra.lua";

my $out = `@nobody ${\ Liud::bin_dir()}/liud check $pack 2>&1`;
isnt($?, 0, 'liud check (as the daemon\'s user) fails');
like($out, qr/extra\.lua/, 'naming the file');
like($out, qr/Permission denied/, 'and why');

my $e = $d->call('rules.reload', {});
ok($e->{error}, 'rules reload refuses a pack with a file it cannot read');
like($e->{error}{message} // '', qr/extra\.lua/, 'naming the file');
like($e->{error}{message} // '', qr/Permission denied/, 'and why');
is($d->ok_call('rules.status')->{version}, $v1, 'the old version stays live');

# An unreadable folder is refused the same way.
unlink "$pack/extra.lua";
mkdir "$pack/data", 0700 or die;
$e = $d->call('rules.reload', {});
ok($e->{error}, 'and a folder it cannot read');
like($e->{error}{message} // '', qr/\bdata\b.*Permission denied/, 'naming it');
rmdir "$pack/data";

# A folder it may list but not look into (r without x): its files are not
# left out either.
mkdir "$pack/data", 0744 or die;
open $f, '>', "$pack/data/x.csv" or die;
close $f;
chmod 0744, "$pack/data";
$e = $d->call('rules.reload', {});
ok($e->{error}, 'and a folder whose files it cannot look at');
like($e->{error}{message} // '', qr{data/x\.csv.*Permission denied}, 'naming the file');
chmod 0755, "$pack/data";
unlink "$pack/data/x.csv";
rmdir "$pack/data";
$d->stop;
done_testing;
