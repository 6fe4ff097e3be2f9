#!/usr/bin/perl
# The core knows records, packs, actions, views, deadlines and roles, and
# nothing of the measure its bundled pack keeps: no source of core/ (daemon
# and client) names ISMAP, but for a comment naming the default pack folder
# that etc/liud.conf sets, and `liud --help` does not describe the product as
# one measure's program.  What a pack's records are called, how they are
# listed and how a view is marked come from the pack (tests/29-neutral.t).
use strict;
use warnings;
use Test::More;
use File::Find;
use lib 'tests/lib';
use Liud;

my @hits;
find({ no_chdir => 1, wanted => sub {
	return unless -f $_;
	open my $f, '<', $_ or die "$_: $!";
	while (my $line = <$f>) {
		next unless $line =~ /ismap/i;
		# a comment that names the default pack folder, and nothing else
		next if $line =~ m{^\s*(?:/?\*|//|--)} && $line =~ m{rules/ismap-liu}
			&& ($line =~ s{rules/ismap-liu}{}gr) !~ /ismap/i;
		push @hits, "$File::Find::name:$.: $line";
	}
} }, 'core');
is(scalar @hits, 0, 'no source of core/ names ISMAP but in a comment naming the default pack folder')
	or diag(join '', @hits);

my $help = `${\ Liud::bin_dir()}/liud --help 2>&1`;
is($? >> 8, 0, 'liud --help exits 0');
unlike($help, qr/ismap/i, 'liud --help does not name ISMAP') or diag($help);
like($help, qr/rule pack/, 'it says the rules come from a rule pack');
done_testing;
