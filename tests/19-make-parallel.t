#!/usr/bin/perl
# `make` builds in parallel by default (a job per processor), keeps a -j the
# caller gives, and runs `make clean all` one goal after the other.
use strict;
use warnings;
use Test::More;

# As a user types it: not under the make that runs the tests (whose flags and
# jobserver the environment would pass on).
delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES MAKE_TERMOUT MAKE_TERMERR GNUMAKEFLAGS)};

sub makeflags {
	my (@args) = @_;
	my $db = `make -pn @args all 2>/dev/null`;
	my ($f) = $db =~ /^MAKEFLAGS = (.*)$/m;
	return $f // '';
}
my $n = `nproc 2>/dev/null` || 2;
chomp $n;
like(makeflags(), qr/(?:^| )-j$n(?: |$)/, "plain make: -j$n, a job per processor");
like(makeflags('-j1'), qr/(?:^| )-j1(?: |$)/, 'make -j1: one job, as asked');
unlike(makeflags('-j1'), qr/-j$n\b/, 'and no other') if $n != 1;
my $db = `make -pn clean all 2>/dev/null`;
like($db, qr/^\.NOTPARALLEL:/m, 'make clean all: not in parallel');
# A recursive make (run, test, demo) shares the jobserver without a word.
for my $j ('', '-j2') {
	my $out = `make $j -n run 2>&1`;
	unlike($out, qr/warning/, "make $j run: no jobserver warning") or diag($out);
}
done_testing;
