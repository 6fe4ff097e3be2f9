#!/usr/bin/perl
# Every function of core/ (and its folders) that is not static has a caller
# outside its own file: another object of the build references it (nm: a
# `U` in one object for a `T` of another), or a unit test or fuzz harness
# names it (those are linked from their sources, so nm cannot see them).  A
# function only its own file calls is static; one nobody calls is removed.
# The exceptions (main, ...) are listed with their reason in
# tests/symbols-allowlist.txt.
#
# Reads the objects of the build under test: the folder of LIUD_TOOLS
# (build/rel, build/san), as `make test` sets it, else build/rel.
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use File::Find;
use File::Spec;

my $obj = $ENV{LIUD_TOOLS} ? dirname($ENV{LIUD_TOOLS}) : 'build/rel';
plan skip_all => "no objects in $obj (run make first)" unless -d $obj;

# core/x/y.c is built to $obj/x/y.o; prelude.o is made from core/prelude.lua.
my (@srcs, @objs);
find({ no_chdir => 1, wanted => sub {
	return unless -f $_ && /\.c\z/;
	(my $rel = File::Spec->abs2rel($_, 'core')) =~ s/\.c\z//;
	push @srcs, $rel;
} }, 'core');
for my $rel (sort @srcs) {
	if (-f "$obj/$rel.o") { push @objs, "$obj/$rel.o"; }
	else { fail("core/$rel.c has an object in $obj (run make)"); }
}
push @objs, "$obj/prelude.o" if -f "$obj/prelude.o";
ok(@objs > 10, scalar(@objs) . " objects of core/ in $obj");

# One nm over every object: "file: value type name" (undefined: no value).
my (%def, %used);   # def{name} = object; used{name}{object} = 1
open my $nm, '-|', 'nm', '-A', @objs or die "nm: $!";
while (<$nm>) {
	my ($file, $type, $name) = /^(.*?):\s*(?:[0-9a-f]+\s+)?([A-Za-z])\s+(\S+)$/ or next;
	if ($type eq 'T') { $def{$name} = $file; }
	elsif ($type eq 'U') { $used{$name}{$file} = 1; }
}
close $nm or die "nm failed: $?";
ok(scalar(keys %def) > 100, scalar(keys %def) . ' functions defined');

# Names the unit tests and fuzz harnesses use (words of their sources).
my %named;
for my $f (glob('tests/unit/*.c'), glob('tests/fuzz/*.c'), glob('tests/fuzz/*.h')) {
	open my $fh, '<', $f or die "$f: $!";
	local $/;
	$named{$_} = 1 for (<$fh> =~ /\b([A-Za-z_]\w*)\b/g);
}

my %allow;
open my $al, '<', 'tests/symbols-allowlist.txt' or die "tests/symbols-allowlist.txt: $!";
while (<$al>) {
	s/#.*//;
	$allow{$1} = 1 if /^\s*(\S+)/;
}

my @uncalled;
for my $name (sort keys %def) {
	next if $allow{$name} || $named{$name};
	next if grep { $_ ne $def{$name} } keys %{ $used{$name} // {} };
	push @uncalled, $name;
}
is(scalar @uncalled, 0, 'every non-static function of core/ is called from outside its file');
diag("$_ (defined in $def{$_}): no other object, unit test or fuzz harness calls it; " .
     'make it static or remove it') for @uncalled;

# Kept as a note, not a failure: the list is shared with work that removes
# the functions it names, and a line left over does no harm until dropped.
note("tests/symbols-allowlist.txt: $_ is no longer defined; drop the line")
	for grep { !$def{$_} } sort keys %allow;

done_testing;
