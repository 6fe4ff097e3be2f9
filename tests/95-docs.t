#!/usr/bin/perl
# The docs describe the product a user has.  Fails when a file of the tree
# points at text users do not have (the founding specification, or a folder
# outside the project), when a document tells of the work that made it (a "session
# N", a commit hash) instead of the product, and when a method of the
# daemon's tables or an error code of the protocol is missing from
# docs/PROTOCOL.md.  Reads files only: no daemon, no build.
use strict;
use warnings;
use Test::More;
use File::Find;

use FindBin;
chdir "$FindBin::Bin/..";

# Every file of the tree, from git when it answers (tracked and new files,
# not build outputs), else by walking it.
my @files;
if (-d '.git' || -f '.git') {
	@files = grep { -f } split /\n/, `git ls-files --cached --others --exclude-standard 2>/dev/null`;
}
if (!@files) {
	find({ no_chdir => 1, wanted => sub {
		$File::Find::prune = 1 if m{^\./(?:\.git|build|bin|run)$};
		push @files, substr($_, 2) if -f;
	} }, '.');
}
ok(@files > 50, 'the tree lists its files (' . scalar(@files) . ')');

# Text users have no copy of.  Tests' own fixtures may hold any text: the
# fuzzers' corpora and crash inputs, and this test's patterns.
my $self = 'tests/95-docs.t';
my @skip = (qr{^tests/fuzz/(?:corpus|crashes)/}, qr{^\Q$self\E$});
sub skipped { my $f = shift; return grep { $f =~ $_ } @skip }

sub slurp {
	my $f = shift;
	open my $fh, '<:raw', $f or return '';
	local $/;
	my $t = <$fh>;
	return defined $t ? $t : '';
}

# Each hit as "file:line: text", for the diagnostics.
sub hits {
	my ($re, @in) = @_;
	my @out;
	for my $f (@in) {
		my $n = 0;
		for my $l (split /\n/, slurp($f)) {
			$n++;
			push @out, "$f:$n: " . substr($l, 0, 160) if $l =~ $re;
		}
	}
	return @out;
}

my @text = grep { !skipped($_) && -T $_ } @files;
# The two names are put together here, so that this file does not cite them.
my ($spec, $shared) = ('S' . 'PEC', '\.\./' . 'sha' . 'red');
my @bad = hits(qr/\b$spec\b|$shared\b/, @text);
is(scalar @bad, 0, 'no file cites the founding specification or its folder (cite docs/PROTOCOL.md, docs/RULES.md, liud.conf(5) ...)')
	or diag(join "\n", @bad);

# Documents: the Markdown files and the man pages' sources.
my @docs = grep { /\.(?:md|scd)$/ } @text;
ok(grep({ $_ eq 'docs/PROTOCOL.md' } @docs), 'docs/PROTOCOL.md is in the tree');
ok(grep({ $_ eq 'docs/RULES.md' } @docs), 'docs/RULES.md is in the tree');
@bad = hits(qr/\bsessions?\s+\d+|\bsession\s+(?:before|ago)\b|\b(?:last|this|previous|that)\s+session\b/i, @text);
is(scalar @bad, 0, 'no file tells of work sessions') or diag(join "\n", @bad);
# A commit hash: 7 to 40 hex digits, with a letter and a digit among them
# (plain numbers and words such as "defaced" are not hashes).
@bad = hits(qr/\b(?=[0-9a-f]{0,39}[a-f])(?=[0-9a-f]{0,39}[0-9])[0-9a-f]{7,40}\b/, @docs);
is(scalar @bad, 0, 'no document names a commit hash') or diag(join "\n", @bad);

# docs/PROTOCOL.md names every method of the daemon's method tables and
# every error code of the protocol.
my $proto = slurp('docs/PROTOCOL.md');
my (%methods, %codes);
for my $f (grep { m{^core/.*\.[ch]$} } @files) {
	my $t = slurp($f);
	$methods{$1} = $f while $t =~ /\{\s*"([a-z][a-z_.]*)"\s*,\s*rpc_m_\w+/g;
	$codes{$1} = $f while $t =~ /\bWIRE_[A-Z_]+\s*=\s*(-32\d{3})\b/g;
}
ok(keys %methods >= 20, 'the method tables list their methods (' . join(' ', sort keys %methods) . ')');
ok(keys %codes >= 12, 'the error codes are found (' . join(' ', sort keys %codes) . ')');
for my $m (sort keys %methods) {
	ok($proto =~ /^#+\s+`\Q$m\E`/m, "docs/PROTOCOL.md has a section on method $m");
}
for my $c (sort keys %codes) {
	ok($proto =~ /^\|\s*`?\Q$c\E`?\s*\|/m, "docs/PROTOCOL.md's table of errors has $c");
}

# The man pages and READMEs point at both guides.
for my $f (qw(README.md docs/README.md contrib/man/liuctl.1.scd contrib/man/liud.8.scd)) {
	ok(slurp($f) =~ /PROTOCOL\.md/, "$f points at docs/PROTOCOL.md");
}
for my $f (qw(README.md docs/README.md rules/README.md contrib/man/liud-rules.7.scd)) {
	ok(slurp($f) =~ /RULES\.md/, "$f points at docs/RULES.md");
}

done_testing();
