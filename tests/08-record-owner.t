#!/usr/bin/perl
# One owner for records (core/ledger.c): no other daemon module reads records
# from the store or decides whether stored bytes are JSON, compressed or
# damaged; the record-version type is tagged; the record methods stay short.
# Reads the sources only (no daemon), so it takes well under a second.
use strict;
use warnings;
use Test::More;

my @core = sort glob('core/*.c');
ok(@core > 10, 'the daemon sources are here') or BAIL_OUT('run from the top of the tree');

sub slurp { my ($f) = @_; open(my $fh, '<', $f) or die "$f: $!"; local $/; return <$fh> }

# Without comments and string literals, so that a comment may name a store
# function without calling it.
sub code_of {
	my ($text) = @_;
	$text =~ s{/\*.*?\*/}{ my $c = $&; $c =~ s/[^\n]//g; $c }gse;
	$text =~ s{//[^\n]*}{}g;
	$text =~ s{"(?:\\.|[^"\\\n])*"}{""}g;
	return $text;
}

# The store's record reads, and the unpacking of a stored form: only the
# store and the ledger may call them.
my $reads = qr/\b(store_get|store_list|store_list_raw|store_audit_of|store_unpack)\s*\(/;
my @outside;
for my $f (@core) {
	next if $f eq 'core/store.c' || $f eq 'core/ledger.c' || $f =~ m{/liuctl};
	my @lines = split /\n/, code_of(slurp($f)), -1;
	for my $i (0 .. $#lines) {
		push @outside, "$f:" . ($i + 1) . ": $1" if $lines[$i] =~ $reads;
	}
}
is(scalar @outside, 0, 'records are read from the store only by the store and the ledger')
	or diag(join "\n", @outside);

# The same as the plain grep a reviewer runs (comments and type names too).
my @named = grep { !m{^core/(?:store|ledger)\.c:} }
	    map { my $f = $_; my $n = 0;
		  map { $n++; /store_get|store_list|store_audit_of/ ? "$f:$n" : () } split /\n/, slurp($f) }
	    grep { !m{/liuctl} } @core;
is("@named", '', "grep 'store_get|store_list|store_audit_of' core/*.c: only store.c and ledger.c");

# Function lengths: from the line naming the function to its closing brace.
sub functions {
	my ($f) = @_;
	my @lines = split /\n/, code_of(slurp($f)), -1;
	my (%len, $name, $start);
	for my $i (0 .. $#lines) {
		my $l = $lines[$i];
		if (!defined $start && $l =~ /^[A-Za-z_][\w\s\*]*?\b(\w+)\s*\(/ && $l !~ /;\s*$/) {
			($name, $start) = ($1, $i);
		} elsif (defined $start && $l =~ /^\}/) {
			$len{$name} = $i - $start + 1;
			undef $start;
		} elsif (defined $start && $l =~ /;\s*$/ && $l !~ /^\s/) {
			undef $start; # a declaration, not a definition
		}
	}
	return \%len;
}

my $rec = functions('core/rpc_records.c');
ok(exists $rec->{rpc_m_act}, 'rpc_m_act is found');
cmp_ok($rec->{rpc_m_act} // 999, '<', 80, 'rpc_m_act is under 80 lines');
for my $f ('core/ledger.c', 'core/rpc_records.c') {
	my $fn = functions($f);
	my @long = grep { $fn->{$_} > 100 } sort keys %$fn;
	is("@long", '', "no function of $f is over 100 lines")
		or diag(join ', ', map { "$_: $fn->{$_}" } @long);
}

# Dead entry points are gone, and the record-version type carries its kind.
my $h = code_of(slurp('core/ledger.h'));
unlike($h, qr/\bledger_latest\s*\(/, 'ledger_latest (no callers) is gone');
unlike($h, qr/\bledger_audit_head\s*\(/, 'ledger_audit_head (no callers) is gone');
like($h, qr/struct ledger_change\s*\{[^}]*enum ledger_change_kind\s+kind\s*;/s,
     'struct ledger_change is tagged with an explicit kind');

done_testing();
