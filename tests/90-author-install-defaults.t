#!/usr/bin/perl
# The defaults follow the build: the installed liud's --help names the
# installed socket, database and live pack, and `liud test` / `liud check`
# with no folder read the configured rules folder (the configuration's, else
# the build's default), never a checkout's `rules`.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

my $dest = tempdir('liud-dest-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $out = `make --no-print-directory install DESTDIR=$dest PREFIX=/usr/local 2>&1`;
is($? >> 8, 0, 'make install succeeds') or diag($out);
my $liud = "$dest/usr/local/sbin/liud";
my $help = `$liud --help 2>&1`;
like($help, qr{--socket PATH .*\(default /run/liud/liud\.sock\)}, 'the installed --help names the installed socket');
like($help, qr{--db DIR .*\(default /var/lib/liud/db\)}, 'and database');
like($help, qr{--rules DIR .*\(default /usr/local/etc/liud/rules/ismap-liu\)}, 'and live pack');
unlike($help, qr{default (run/liud\.sock|var/db|rules\))}, 'and no checkout path');
like($help, qr{/usr/local/etc/liud/liud\.conf}, 'it names the configuration liud test reads');

# From anywhere, with no folder: the configured one (not `rules`).
my $cwd = tempdir('liud-cwd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
$out = `cd $cwd && $liud test 2>&1`;
unlike($out, qr/rule pack rules:/, 'the installed liud test does not look for ./rules');
if (-e '/usr/local/etc/liud/liud.conf') {
	like($out, qr/testing the rules folder \S+/, 'it tests the configured folder');
} else {
	like($out, qr{rule pack /usr/local/etc/liud/rules/ismap-liu: No such file}, 'it tests the installed live pack');
}

# A checkout's liud, in the checkout: the rules of etc/liud.conf.
$out = `${\ Liud::bin_dir()}/liud check 2>&1`;
is($? >> 8, 0, 'liud check with no folder, in the checkout, succeeds') or diag $out;
like($out, qr{checking the rules folder rules/ismap-liu}, 'checking the folder etc/liud.conf names');
$out = `make --no-print-directory uninstall DESTDIR=$dest PREFIX=/usr/local 2>&1`;
done_testing;
