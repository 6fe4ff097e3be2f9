#!/usr/bin/perl
# The layers of core/, as its sources show them.  A library's header, its
# error codes and the protocol stay in their modules: <lmdb.h> only in
# store.c, Lua's headers only in rules*, the protocol (wire.h) never in the
# Lua host, the error codes defined in errors.h alone, for every module to
# share without the protocol; and store.c turns LMDB's codes into errno at
# each call (store_err), so it never has to tell one kind of code from the
# other by its size (LMDB's are negative numbers too, below -30000).
#
# No include cycle between the modules of core/ (and its folders): data flows
# down the floors (core/README.md), so a module never includes, directly or
# through a header, the header of a module that includes its own.
#
# A module is a .c file and the header of the same name (core/store.c and
# core/store.h are "store"; core/client/args.c is "client/args").  A header
# with no .c of its own (rpc_int.h, version.h) is not a module: whoever
# includes it includes what it includes.  So the graph is what `cc -MM` says
# of each .c, read from the #include "..." lines themselves (resolved as the
# compiler does with -iquote core: the including file's folder first, then
# core/), which needs no build and no pkg-config.  A cycle is reported with
# the files that make each step of it.
use strict;
use warnings;
use Test::More;
use File::Find;
use File::Spec;

my $core = 'core';
my (%src, %text);
find({ no_chdir => 1, wanted => sub {
	return unless -f $_ && /\.[ch]\z/;
	(my $rel = File::Spec->abs2rel($_, $core)) =~ s{\\}{/}g;
	$src{$rel} = 1;
} }, $core);
ok(scalar(grep { /\.c\z/ } keys %src) > 10, 'core/ holds the daemon\'s sources')
	or BAIL_OUT('run from the top of the tree');

# Direct quoted includes of one file, resolved to paths relative to core/.
sub includes_of {
	my ($rel) = @_;
	open my $fh, '<', "$core/$rel" or die "$core/$rel: $!";
	my ($dir) = $rel =~ m{^(.*)/} ? ($1) : ('');
	my @out;
	while (<$fh>) {
		next unless /^\s*#\s*include\s*"([^"]+)"/;
		my $name = $1;
		for my $cand (($dir eq '' ? $name : "$dir/$name"), $name) {
			my $n = canon($cand);
			if (defined $n && $src{$n}) { push @out, $n; last; }
		}
	}
	return @out;
}

sub canon {
	my @p;
	for (split m{/}, $_[0]) {
		next if $_ eq '.' || $_ eq '';
		if ($_ eq '..') { return undef unless @p; pop @p; next; }
		push @p, $_;
	}
	return join '/', @p;
}

sub module_of {
	(my $m = $_[0]) =~ s/\.[ch]\z//;
	return $src{"$m.c"} ? $m : undef;
}

# edge{A}{B} = "file -> header" that first made A depend on B.
my %edge;
for my $c (sort grep { /\.c\z/ } keys %src) {
	my $from = module_of($c);
	my @todo = ($c, $src{"$from.h"} ? "$from.h" : ());
	my %seen = map { $_ => 1 } @todo;
	while (defined(my $f = shift @todo)) {
		for my $h (includes_of($f)) {
			my $to = module_of($h);
			if (defined $to) {
				$edge{$from}{$to} //= "$f includes $h" if $to ne $from;
				next if $to ne $from;   # another module: its own edges count for it
			}
			push @todo, $h unless $seen{$h}++;
		}
	}
}

# Tarjan's strongly connected components; a component of two or more is a cycle.
my ($index, @stack, %on, %idx, %low, @sccs) = (0);
sub visit {
	my ($v) = @_;
	$idx{$v} = $low{$v} = $index++;
	push @stack, $v; $on{$v} = 1;
	for my $w (sort keys %{ $edge{$v} // {} }) {
		if (!exists $idx{$w}) { visit($w); $low{$v} = $low{$w} if $low{$w} < $low{$v}; }
		elsif ($on{$w}) { $low{$v} = $idx{$w} if $idx{$w} < $low{$v}; }
	}
	return unless $low{$v} == $idx{$v};
	my @c;
	while (1) { my $w = pop @stack; $on{$w} = 0; push @c, $w; last if $w eq $v; }
	push @sccs, [sort @c] if @c > 1;
}
visit($_) for grep { !exists $idx{$_} } sort map { module_of($_) } grep { /\.c\z/ } keys %src;

# The shortest cycle through one member of a component, with the
# include that makes each step.
sub one_cycle {
	my ($start, %in) = @_;
	my %prev = ($start => undef);
	my @q = ($start);
	while (defined(my $v = shift @q)) {
		for my $w (sort keys %{ $edge{$v} }) {
			next unless $in{$w};
			if ($w eq $start) {
				my @path = ($v);
				unshift @path, $prev{$path[0]} while defined $prev{$path[0]};
				push @path, $start;
				return map { "$path[$_] -> $path[$_ + 1] ($edge{$path[$_]}{$path[$_ + 1]})" } 0 .. $#path - 1;
			}
			next if exists $prev{$w};
			$prev{$w} = $v;
			push @q, $w;
		}
	}
	return;
}

# Which files include `re` (a quoted or bracketed name), as "core/x.c".
sub who_includes {
	my ($re) = @_;
	my @out;
	for my $f (sort keys %src) {
		open my $fh, '<', "$core/$f" or die "$core/$f: $!";
		while (<$fh>) {
			if (/^\s*#\s*include\s*[<"]($re)[>"]/) { push @out, "$core/$f"; last; }
		}
	}
	return @out;
}
is_deeply([who_includes(qr/lmdb\.h/)], ['core/store.c'], 'only store.c includes <lmdb.h>');
is_deeply([grep { !m{^core/rules[^/]*\.[ch]\z} } who_includes(qr/lua\.h|lauxlib\.h|lualib\.h/)], [],
	  "only the Lua host (rules*) includes Lua's headers");
is_deeply([grep { m{^core/rules[^/]*\.[ch]\z} } who_includes(qr/wire\.h/)], [],
	  'the Lua host (rules*) does not include the protocol (wire.h)');
my @defs;
for my $f (sort keys %src) {
	open my $fh, '<', "$core/$f" or die "$core/$f: $!";
	while (<$fh>) { push @defs, "core/$f" if /^\s*#\s*define\s+LIU_E[A-Z]*\b/; }
}
my %deff = map { $_ => 1 } @defs;
is_deeply([sort keys %deff], ['core/errors.h'], 'the error codes (LIU_E*) are defined in errors.h alone');
my @by_size;
{
	open my $fh, '<', "$core/store.c" or die "$core/store.c: $!";
	while (<$fh>) { push @by_size, "core/store.c:$.: $_" if /[<>]=?\s*-\s*\d{3,}\b/; }
}
is(scalar @by_size, 0, 'store.c tells no LMDB code from an errno by its size');
diag("  $_") for @by_size;

my $nmod = grep { /\.c\z/ } keys %src;
is(scalar @sccs, 0, "no include cycle between the $nmod modules of core/");
for my $c (@sccs) {
	my %in = map { $_ => 1 } @$c;
	diag("include cycle between " . join(', ', @$c) . ":");
	my %said;
	for my $m (@$c) {   # the shortest cycle through each member, each once
		my @steps = one_cycle($m, %in);
		my $key = join ' ', sort @steps;
		next if $said{$key}++;
		diag("  $_") for @steps;
		diag('  --') if @$c > 2;
	}
}

done_testing;
