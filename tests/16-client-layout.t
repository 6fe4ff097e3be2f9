#!/usr/bin/perl
# The client's shape: liuctl lives in core/client/ and nowhere else under
# core/, every function or variable it makes public carries the cli_ prefix
# (nm on its objects), it includes nothing of the daemon's but the shared
# wire and sheet modules (cc -MM), and neither its includes nor its calls
# (who defines what another object uses) go round in a circle.
use strict;
use warnings;
use Test::More;
use File::Basename qw(basename dirname);

my $O = $ENV{LIUD_TOOLS} ? dirname($ENV{LIUD_TOOLS}) : 'build/rel';
my @SHARED = qw(wire sheet); # the daemon's modules the client may use

# --- where the files are -------------------------------------------------------------

my @flat = grep { -f } glob('core/liuctl*');
is(scalar @flat, 0, 'no liuctl file left among the daemon\'s in core/') or diag("@flat");
my @src = sort glob('core/client/*.c');
ok(@src >= 5, 'the client\'s sources are in core/client/') or diag("@src");
ok(-f 'core/client/liuctl.c', 'main in core/client/liuctl.c');
ok(-f 'core/client/README.md', 'the folder has a README');
my @mains = grep { slurp($_) =~ /^int main\(/m } glob('core/*.c');
is_deeply([ map { basename $_ } @mains ], ['liud.c'], 'the only main in core/ itself is the daemon\'s');
my @daemon_uses = grep { slurp($_) =~ /#include "(?:client\/)?cli[_.]/ } glob('core/*.c core/*.h');
is(scalar @daemon_uses, 0, 'no daemon file includes a client header') or diag("@daemon_uses");

# --- includes: cc -MM ---------------------------------------------------------------------

my %inc; # client module -> modules it includes (client ones by name)
my @daemon_inc;
for my $c (@src) {
	my $deps = `cc -MM -D_GNU_SOURCE -iquote core -iquote core/client $c 2>&1`;
	is($?, 0, "cc -MM $c") or diag($deps);
	$deps =~ s/\\\n/ /g;
	my (undef, $list) = split /:/, $deps, 2;
	my $me = basename($c, '.c');
	for my $h (split ' ', $list // '') {
		next if $h eq $c;
		if ($h =~ m{^core/client/(\w+)\.h$}) {
			$inc{$me}{$1} = 1 unless $1 eq $me;
		} elsif ($h =~ m{^core/(\w+)\.h$}) {
			my $mod = $1;
			push @daemon_inc, "$me: $mod.h" unless grep { $_ eq $mod } @SHARED, 'version';
		}
	}
}
is(scalar @daemon_inc, 0, 'the client includes none of the daemon\'s headers but wire.h, sheet.h, version.h')
	or diag(join ', ', @daemon_inc);
my $cycle = find_cycle(\%inc);
ok(!$cycle, 'no include circle among the client\'s files') or diag('circle: ' . join(' -> ', @$cycle));

# --- symbols: nm -----------------------------------------------------------------------------

my @objs = map { "$O/client/" . basename($_, '.c') . '.o' } @src;
SKIP: {
	skip "the client's objects are not built in $O/client", 3 unless @objs && !grep { !-f } @objs;
	my (%def, %use);
	for my $o (@objs) {
		my $me = basename($o, '.o');
		for (`nm $o`) {
			my ($type, $name) = /^\s*\S*\s+([A-Za-z])\s+(\S+)$/ or next;
			if ($type =~ /^[TDBRC]$/) { $def{$name} = $me }
			elsif ($type eq 'U') { $use{$me}{$name} = 1 }
		}
	}
	# (__odr_asan.* and the like: what a sanitizer build adds for each global)
	my @bad = sort grep { !/^cli_/ && $_ ne 'main' && !/^__(?:odr_)?asan/ } keys %def;
	is(scalar @bad, 0, 'every public symbol of the client starts with cli_')
		or diag('unprefixed: ' . join(' ', @bad));
	ok(keys %def > 20, 'the objects define the client\'s symbols') or diag(scalar keys %def);
	my %calls;
	for my $me (keys %use) {
		for my $s (keys %{ $use{$me} }) {
			my $who = $def{$s};
			$calls{$me}{$who} = 1 if $who && $who ne $me;
		}
	}
	my $c = find_cycle(\%calls);
	ok(!$c, 'no circle in who uses whom among the client\'s objects')
		or diag('circle: ' . join(' -> ', @$c));
}

done_testing;

sub slurp { my ($p) = @_; open my $f, '<', $p or return ''; local $/; return scalar <$f> }

# A cycle of the graph {node => {node => 1}} as a list of nodes, or undef.
sub find_cycle {
	my ($g) = @_;
	my %state; # 1 on the path, 2 done
	my @path;
	my $visit;
	$visit = sub {
		my ($n) = @_;
		$state{$n} = 1;
		push @path, $n;
		for my $m (sort keys %{ $g->{$n} // {} }) {
			if (($state{$m} // 0) == 1) {
				my @i = grep { $path[$_] eq $m } 0 .. $#path;
				return [ @path[ $i[0] .. $#path ], $m ];
			}
			next if $state{$m};
			my $c = $visit->($m);
			return $c if $c;
		}
		pop @path;
		$state{$n} = 2;
		return undef;
	};
	for my $n (sort keys %$g) {
		next if $state{$n};
		my $c = $visit->($n);
		return $c if $c;
	}
	return undef;
}
