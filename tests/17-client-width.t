#!/usr/bin/perl
# liuctl's tables line up by display width for every kind of character a
# record may hold: East Asian wide ones (漢字, 🚀 as well as the emoticons),
# zero-width ones (U+200B), and combining marks (e + U+0301, a Devanagari
# virama U+094D) that take no column of their own.  The widths are the
# Unicode tables' (libunistring's u8_width), compared here with Perl's.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;
use Encode qw(decode);
use File::Temp qw(tempdir);

my $tmp = tempdir('liud-width-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $LIUCTL = Liud::bin_dir() . '/liuctl';

# Columns a string takes: East Asian Wide and Fullwidth two, nonspacing and
# enclosing marks and format characters none, others one.
sub width {
	my ($s) = @_;
	my $w = 0;
	for (split //, $s) {
		$w += /[\p{Mn}\p{Me}\p{Cf}]/ ? 0 : /[\p{East_Asian_Width=Wide}\p{East_Asian_Width=Fullwidth}]/ ? 2 : 1;
	}
	return $w;
}

# The display column where each cell of a table line starts (cells are
# separated by two spaces or more, and hold none themselves).
sub cell_columns {
	my ($line) = @_;
	my @cols;
	push @cols, width(substr($line, 0, $-[1])) while $line =~ /(\S+(?: \S+)*)/g;
	return \@cols;
}

my @STATES = ("漢字", "🚀go", "e\x{301}e\x{301}", "a\x{200B}b", "क\x{94D}ष", "plain");
mkdir "$tmp/pack" or die;
open my $pf, '>:utf8', "$tmp/pack/main.lua" or die;
print $pf "pack { name = \"width\", title = { ja = \"表示幅\", en = \"display width\" } }\n";
print $pf "kind \"note\" { id_prefix = \"W-\", summary_fields = { \"service_name\" }, states = { "
	. join(', ', map { "\"$_\"" } @STATES) . " } }\n";
print $pf "role \"secretariat\" { title = { ja = \"事務局\", en = \"secretariat\" } }\n";
print $pf "action \"c$_\" { kind = \"note\", roles = { \"secretariat\" }, creates = true, to = \"$STATES[$_]\" }\n"
	for 0 .. $#STATES;
close $pf;

my $d = Liud::start_daemon(clock => '2024-06-01', rules => "$tmp/pack");
$d->ok_call('act', { action => "c$_", params => { service_name => "s$_" } }) for 0 .. $#STATES;
my $out = decode('UTF-8', scalar `$LIUCTL --socket $d->{sock} record list`);
is($? >> 8, 0, 'record list exits 0');
my @rows = split /\n/, $out;
is(scalar @rows, @STATES + 1, 'a header and a row per record') or diag($out);
my $head = cell_columns($rows[0]);
is(scalar @$head, 6, 'six columns: id, kind, state, updated, the summary field and the decision') or diag($rows[0]);
for my $i (1 .. $#rows) {
	my $state = $STATES[$i - 1] =~ s/([^\x20-\x7e])/sprintf('U+%04X', ord $1)/ger;
	is_deeply(cell_columns($rows[$i]), $head, "state $state: each cell starts at its header's display column")
		or diag("$rows[0]\n$rows[$i]");
}
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
