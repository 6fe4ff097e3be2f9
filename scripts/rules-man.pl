#!/usr/bin/perl
# rules-man.pl docs/RULES.md > contrib/man/liud-rules.7.scd
#
# Makes the man page liud-rules(7) from the author's guide, so that the two
# never disagree: `make man-rules` writes it, tests/96-rules-guide.t fails
# when the committed page is not what this makes.  Markdown as the guide
# writes it: headings, paragraphs, "- " lists, fenced blocks, tables (made
# lists: scdoc's tables do not wrap), `code`, **bold** and *emphasis*.
use strict;
use warnings;

my $src = shift // 'docs/RULES.md';
open my $in, '<:raw', $src or die "$src: $!\n";
my @lines = <$in>;
close $in;
chomp @lines;

# scdoc's own marks in running text, escaped.
sub esc { my $s = shift; $s =~ s/\\/\\\\/g; $s =~ s/([*_])/\\$1/g; return $s }

# Inline markdown to scdoc: `code` and **bold** bold, *emphasis* underlined.
sub inline {
	my $s = shift;
	my $out = '';
	while (length $s) {
		if ($s =~ s/^`([^`]+)`//) { $out .= '*' . esc($1) . '*' }
		elsif ($s =~ s/^\*\*(.+?)\*\*//) { $out .= '*' . esc($1) . '*' }
		elsif ($s =~ s/^\*([^*\s][^*]*?)\*//) { $out .= '_' . esc($1) . '_' }
		elsif ($s =~ s/^([^`*]+)//) { $out .= esc($1) }
		else { $s =~ s/^(.)//; $out .= esc($1) }
	}
	return $out;
}

sub heading { my $s = shift; $s =~ s/`//g; return $s }

my @out = ('liud-rules(7)', '', '# NAME', '',
	   'liud-rules - writing a rule pack for liud, from an empty folder to a live pack', '',
	   '# DESCRIPTION', '');
my ($fence, $table_head) = (0, 0);
shift @lines while @lines && $lines[0] !~ /^# /;
shift @lines; # the guide's title: the page has its NAME
for my $l (@lines) {
	if ($l =~ /^```/) {
		$fence = !$fence;
		push @out, '```';
		next;
	}
	if ($fence) { push @out, $l; next }
	if ($l =~ /^## (.*)/) { push @out, '# ' . uc(heading($1)); next }
	if ($l =~ /^### (.*)/) { push @out, '## ' . heading($1); next }
	if ($l =~ /^\|/) {
		my @c = map { s/^\s+|\s+$//gr } split /\|/, substr($l, 1);
		if ($l =~ /^\|[-| ]+\|$/) { next }        # the rule under the header
		if (!$table_head) { $table_head = 1; next } # the header row
		my ($k, @rest) = @c;
		my $what = pop @rest;
		my $note = join ', ', grep { length } @rest;
		push @out, '- ' . inline($k) . (length $note ? ' (' . inline($note) . ')' : '') . ': ' . inline($what);
		next;
	}
	$table_head = 0;
	push @out, inline($l);
}
push @out, '', '# SEE ALSO', '',
	'*liud*(8), *liuctl*(1), *liud.conf*(5); _docs/RULES.md_ (this guide, installed as',
	'_share/doc/liud/RULES.md_), _docs/PROTOCOL.md_; the packs _rules/fee-waiver/_ and',
	'_rules/ismap-liu/_, each with a _README.md_ that maps its notice to its files.';
print join("\n", @out), "\n";
