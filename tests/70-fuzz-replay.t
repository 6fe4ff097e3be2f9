#!/usr/bin/perl
# The fuzzers' regression check: every input of tests/fuzz/corpus/<target>/
# and tests/fuzz/crashes/<target>/ run once through its libFuzzer target
# (`make fuzz-replay`, see mk/fuzz.mk), one test per target, ok when the
# replay exits 0: no crash, no sanitizer report, no broken protocol promise.
# Skipped when clang or its fuzzer runtime (Debian: libclang-rt-14-dev) is
# missing.
use strict;
use warnings;
use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $root = dirname(dirname(abs_path($0)));
chdir $root or BAIL_OUT("cd $root: $!");

# A clean make: not the jobserver or variables of a `make test` around us.
delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES)};
my @make = ('make', '--no-print-directory', '-s');

# Runs a command; returns (exit status, combined output).
sub run {
	my $out = `@_ 2>&1`;
	return ($? >> 8, $out // '');
}

my $cc = $ENV{FUZZ_CC} // 'clang';
my ($st) = run("command -v $cc >/dev/null");
plan skip_all => "$cc is not installed (apt-get install clang libclang-rt-14-dev)" if $st != 0;
my $out;
($st, $out) = run(@make, "FUZZ_CC=$cc", 'fuzz-check');
plan skip_all => "$cc cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)" if $st != 0;

my @targets = sort map { m{tests/fuzz/(fuzz_\w+)\.c$} ? $1 : () } glob('tests/fuzz/fuzz_*.c');
plan skip_all => 'no fuzz targets in tests/fuzz' unless @targets;
plan tests => scalar @targets;

my $jobs = `nproc 2>/dev/null` || 2;
chomp $jobs;
my ($bst, $bout) = run(@make, "-j$jobs", "FUZZ_CC=$cc", 'fuzz-build');
for my $t (@targets) {
	if ($bst != 0) {
		fail("$t: replay of corpus and crashes");
		diag("the fuzz targets do not build:\n$bout");
		next;
	}
	my $t0 = time;
	my ($rst, $rout) = run(@make, "FUZZ_CC=$cc", "FUZZ_TARGETS=$t", 'fuzz-replay');
	my ($line) = $rout =~ /^(fuzz-replay: \Q$t\E: .*)$/m;
	ok($rst == 0, "$t: replay of corpus and crashes")
		or diag($rout);
	note(($line // "$t: no summary") . sprintf(' in %d s', time - $t0));
}
