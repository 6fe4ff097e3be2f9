#!/usr/bin/perl
# The shape of the scheduler, staging and the rule lifecycle (house style):
# no function over 100 lines in them; staging's rows parsed and formatted
# in one module; the store knows nothing of staging; the rule lifecycle is
# a module of its own, outside the rpc layer and without <lua.h>.  Reads
# the sources only: a few milliseconds.
use strict;
use warnings;
use Test::More;

sub slurp {
	my ($f) = @_;
	open my $fh, '<', $f or return undef;
	local $/;
	return <$fh>;
}

# Passes when no line of `text` matches `re`; shows the lines that do.
sub no_line {
	my ($text, $re, $desc) = @_;
	my @hits = grep { /$re/ } split /\n/, $text // '';
	is(scalar(@hits), 0, $desc) or diag(join "\n", @hits);
}

# Function definitions of a C file in the house's layout (the body's braces
# alone at column 0): [name, first line, length in lines from the first
# line of the signature to the closing brace].
sub functions {
	my ($text) = @_;
	my @l = split /\n/, $text, -1;
	my @out;
	for my $i (0 .. $#l) {
		next unless $l[$i] =~ /^\{\s*$/;
		my $s = $i - 1;
		$s-- while $s > 0 && $l[$s - 1] !~ /^\s*$|;\s*$|\}\s*$|\*\/\s*$|^#/;
		my $e = $i;
		$e++ while $e <= $#l && $l[$e] !~ /^\}/;
		my ($name) = join("\n", @l[$s .. $i - 1]) =~ /(\w+)\s*\(/;
		push @out, [ $name // '?', $s + 1, $e - $s + 1 ];
	}
	return @out;
}

my @mods = qw(core/sched.c core/stage.c core/lifecycle.c core/rpc_rules.c);
for my $f (@mods) {
	my $text = slurp($f);
	ok(defined $text, "$f exists") or next;
	my @fns = functions($text);
	ok(@fns > 3, "$f: its functions are found (" . scalar(@fns) . ")");
	my @long = grep { $_->[2] > 100 } @fns;
	is(scalar(@long), 0, "$f: no function over 100 lines")
		or diag(join "\n", map { "$f:$_->[1] $_->[0]: $_->[2] lines" } @long);
}

# The store keeps a generic droppable key range; what it is for is its
# caller's business.
no_line(slurp($_), qr/stag/i, "$_ does not mention staging") for qw(core/store.h core/store.c);

# Staging's row format is parsed and formatted in stage.c only.
my $sched = slurp('core/sched.c') // '';
no_line($sched, qr/\\t/, 'core/sched.c builds and cuts no tab-separated rows');
like(slurp('core/stage.h') // '', qr/STAGE_ROW_VERSION/, 'stage.h names the row format version');

# The rule lifecycle: activation and the diff's steps are not in the rpc layer.
my $rr = slurp('core/rpc_rules.c') // '';
for my $fn (qw(activate activated diff_step cand_work project)) {
	no_line($rr, qr/^\w[^;]*\b$fn\s*\([^;]*$/, "core/rpc_rules.c does not define $fn()");
}
my $life = slurp('core/lifecycle.c');
no_line($life // '#include <lua.h>', qr/^#\s*include\s*<(lua|lauxlib|lualib)\.h>/,
	'core/lifecycle.c does not include <lua.h>');

# Stale promises and migrations for builds that never shipped.
no_line(slurp('core/sched.h'), qr/sched_running/, 'sched.h: no sched_running (it had no callers)');
no_line(slurp('core/store.c'), qr/drop_old_staged|[Ee]arlier builds/, 'store.c: no migration of unshipped builds');
no_line($sched, qr/older build/, 'core/sched.c: no row of an older build');
no_line(slurp('core/commit.h'), qr/stopping daemon waits|STORE_STAGE_PREFIX/,
	'commit.h promises nothing the code does not do');
no_line(slurp('core/store.c'), qr/-1000\b/, "store.c tells LMDB's codes from errno in store_err(), not by a magic bound");

done_testing();
