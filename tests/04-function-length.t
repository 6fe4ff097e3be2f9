#!/usr/bin/perl
# No function of core/ (and its folders) has a body over 100 lines
# (the house style: a function does one thing; a longer one is split into named
# steps).  A body is counted from the line after its opening brace to the
# line before its closing one.  Found by matching braces, with comments,
# strings and character constants blanked out first: a function is a brace
# at depth 0 that follows a closing parenthesis (so a struct, an enum or an
# initialiser is not one).
use strict;
use warnings;
use Test::More;
use File::Find;

my $MAX = 100;

# The text with comments, strings and character constants replaced by
# spaces (newlines kept, so line numbers stay right).
sub blank {
	my ($t) = @_;
	$t =~ s{
		(/\*.*?\*/) | (//[^\n]*) | ("(?:\\.|[^"\\\n])*") | ('(?:\\.|[^'\\\n])*')
	}{ my $m = $&; $m =~ s/[^\n]/ /g; $m }gsex;
	# Preprocessor lines (a macro's braces are not a function's).
	$t =~ s{^([ \t]*\#(?:[^\n]*\\\n)*[^\n]*)}{ my $m = $1; $m =~ s/[^\n]/ /g; $m }gme;
	return $t;
}

# [name, first line, body lines] of every function in `file`.
sub functions {
	my ($file) = @_;
	open my $fh, '<', $file or die "$file: $!";
	my $t = blank(do { local $/; <$fh> });
	my @f;
	my ($depth, $start, $name, $line) = (0, 0, '', 1);
	while ($t =~ /([{}\n])/g) {
		my $c = $1;
		if ($c eq "\n") { $line++; next; }
		if ($c eq '{') {
			if ($depth == 0) {
				my $before = substr($t, 0, pos($t) - 1);
				if ($before =~ /(\w+)\s*\((?:[^()]|\([^()]*\))*\)\s*\z/s) {
					($name, $start) = ($1, $line);
				} else {
					$name = '';
				}
			}
			$depth++;
		} else {
			$depth--;
			push @f, [ $name, $start, $line - $start - 1 ] if $depth == 0 && $name ne '';
		}
	}
	return @f;
}

my @files;
find({ no_chdir => 1, wanted => sub { push @files, $_ if -f $_ && /\.c\z/ } }, 'core');
@files = sort @files;
ok(@files > 10, 'the sources of core/ are found') or BAIL_OUT('no sources');

my ($n, @long) = (0);
for my $file (@files) {
	for my $f (functions($file)) {
		$n++;
		push @long, sprintf('%s:%d %s: %d lines', $file, $f->[1], $f->[0], $f->[2]) if $f->[2] > $MAX;
	}
}
cmp_ok($n, '>', 500, "the functions are found ($n)");
is(scalar @long, 0, "no function body is over $MAX lines") or diag join "\n", @long;

# The counter itself, on a known text: the check means something.
{
	my $dir = "/tmp/liud-fnlen-$$";
	mkdir $dir or die $!;
	open my $fh, '>', "$dir/x.c" or die $!;
	print $fh "struct s { int a; };\n/* { not a brace */\nstatic int f(int x)\n{\n",
		  "\tconst char *s = \"}\";\n", ("\tx++;\n") x 101, "\tif (x) {\n\t\tx--;\n\t}\n\treturn x;\n}\n";
	close $fh;
	my @f = functions("$dir/x.c");
	unlink "$dir/x.c";
	rmdir $dir;
	is_deeply(\@f, [ [ 'f', 4, 106 ] ], 'a known function of 106 lines is counted as such');
}
done_testing;
