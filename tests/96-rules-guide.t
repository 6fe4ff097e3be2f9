#!/usr/bin/perl
# Every example of the author's guide, docs/RULES.md, runs.  The walk-through's
# files (```lua blocks whose first line is "-- waiver/<file>") are written
# out in a fresh folder with its liud.conf ("-- liud.conf"); its commands
# (```sh blocks) run in order: `liud check` and `liud test` on the folder,
# the daemon started as the guide starts it, every `liuctl` line against it.
# Every other ```lua block is loaded with the walk-through's pack (as a pack
# file, or as a test file when it declares a case or scenario or uses
# strict()), and the pack
# must check and pass its tests.  And liud-rules(7) is what
# scripts/rules-man.pl makes of the guide (`make man-rules`).
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use Cwd qw(abs_path getcwd);
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Basename qw(dirname);
use Encode qw(decode encode);

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
my $root = getcwd();
my $bin = abs_path(Liud::bin_dir());
$ENV{LIUD_BIN} = $bin;
unshift @INC, "$root/tests/lib";

open my $g, '<:encoding(UTF-8)', 'docs/RULES.md' or die;
my @lines = <$g>;
close $g;

# The fenced blocks, in order: [lang, text, line].
my (@blocks, $cur);
for my $i (0 .. $#lines) {
	my $l = $lines[$i];
	if (!$cur && $l =~ /^```(\w*)\s*$/) { $cur = [ $1, '', $i + 1 ]; next }
	if ($cur && $l =~ /^```\s*$/) { push @blocks, $cur; undef $cur; next }
	$cur->[1] .= $l if $cur;
}
ok(!$cur, 'every fenced block of the guide is closed');
my @untagged = grep { $_->[0] eq '' } @blocks;
is(scalar @untagged, 0, 'every fenced block says what it is (lua, sh or text)')
	or diag(join ', ', map { "line $_->[2]" } @untagged);

my (%walk, $conf, @ref, @sh);
for my $b (@blocks) {
	my ($lang, $text, $line) = @$b;
	if ($lang eq 'lua' && $text =~ /\A-- (waiver\/\S+)\n/) { $walk{$1} .= $text }
	elsif ($lang eq 'lua' && $text =~ /\A-- liud\.conf\n/) { $conf = $text }
	elsif ($lang eq 'lua') { push @ref, $b }
	elsif ($lang eq 'sh') { push @sh, $b }
	elsif ($lang ne 'text') { fail("line $line: a block in `$lang`, which the guide test does not run") }
}
ok(scalar(keys %walk) >= 4, 'the walk-through has its files') or diag(join ' ', keys %walk);
ok(defined $conf, 'and a liud.conf');

sub write_file {
	my ($path, $text) = @_;
	make_path(dirname($path));
	open my $f, '>:encoding(UTF-8)', $path or die "$path: $!";
	print $f $text;
	close $f;
}

my $dir = tempdir('liud-guide-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chdir $dir or die;
write_file($_, $walk{$_}) for keys %walk;
write_file('liud.conf', $conf);

sub run {
	my ($cmd) = @_;
	my $out = decode('UTF-8', scalar `$cmd 2>&1`);
	return ($? >> 8, $out);
}

# --- the commands, in the guide's order -------------------------------------------
my $d;
my %out; # what the commands printed, by command
for my $b (@sh) {
	for my $l (split /\n/, $b->[1]) {
		$l =~ s/\s+#\s.*$//;
		next if $l =~ /^\s*$/;
		my $what = "line $b->[2]: $l";
		if ($l =~ /^liud -c (\S+) --rules (\S+) --test-clock (\S+)$/) {
			$d = Liud::start_daemon(conf => "$dir/$1", rules => "$dir/$2", clock => $3);
			ok($d->alive, "$what: the daemon runs the guide's pack") or diag($d->log_text);
		} elsif ($l =~ /^liud (check|test) /) {
			my ($rc, $out) = run("$bin/$l");
			is($rc, 0, $what) or diag($out);
			$out{$l} = $out;
		} elsif ($l =~ /^liuctl (.*)$/) {
			BAIL_OUT("$what: liuctl before the daemon is started") unless $d;
			my ($rc, $out) = run("$bin/liuctl --socket $d->{sock} " . encode('UTF-8', $1));
			is($rc, 0, $what) or diag($out);
			$out{$l} .= $out;
		} elsif ($l =~ /^(mkdir|sed) /) {
			is(system($l), 0, $what);
		} else {
			fail("$what: a command the guide test does not know");
		}
	}
}
ok($d, 'the guide puts its pack live');
like($out{'liud test waiver'} // '', qr/^ok 4 - /m, 'liud test runs the walk-through\'s four tests');
my ($list) = grep { /^liuctl record list/ } keys %out;
like($out{$list // ''} // '', qr/^ID\s+KIND\s+STATE\s+UPDATED\s+PROVIDER\s+EMPLOYEES/m,
     'record list shows the kind\'s summary fields');
my ($reg) = grep { /^liuctl view register/ } keys %out;
like($out{$reg // ''} // '', qr/取扱注意/, 'the register is printed under its marking');
like($out{$reg // ''} // '', qr/FW-1001/, 'and lists the waiver granted');
my ($dl) = grep { /^liuctl deadlines/ } keys %out;
like($out{$dl // ''} // '', qr/2025-11-01/, 'after the change and the reload, the deadline follows the new date');
is($d->stop, 0, 'the daemon stops cleanly') if $d;

# --- every other example, loaded with the walk-through's pack --------------------------
my $ref = "$dir/ref";
write_file("$ref/" . substr($_, length 'waiver/'), $walk{$_}) for keys %walk;
my $n = 0;
for my $b (@ref) {
	my $file = sprintf('%s90-example-%02d.lua', ($b->[1] =~ /^\s*(case|scenario)\s|\bstrict\(/m ? 'tests/' : ''), ++$n);
	write_file("$ref/$file", "-- docs/RULES.md line $b->[2]\n$b->[1]");
}
ok($n >= 8, "the reference's examples ($n)");
my ($rc, $out) = run("$bin/liud check $ref");
is($rc, 0, 'the pack with every example of the reference loads') or diag($out);
($rc, $out) = run("$bin/liud test $ref");
is($rc, 0, 'and passes its tests, the examples\' included') or diag($out);
unlike($out, qr/^not ok/m, 'no test fails');

# --- the man page is made from the guide ----------------------------------------------
chdir $root or die;
my $made = `perl scripts/rules-man.pl docs/RULES.md`;
open my $m, '<:raw', 'contrib/man/liud-rules.7.scd' or die;
my $have = do { local $/; <$m> };
close $m;
ok($made eq $have, 'contrib/man/liud-rules.7.scd is what `make man-rules` makes of docs/RULES.md');

# --- the guide and the README agree ----------------------------------------------
open my $r, '<:encoding(UTF-8)', 'README.md' or die;
my $readme = do { local $/; <$r> };
close $r;
like($readme, qr/`make man`/, 'the README names make man');
my $guide = join '', @lines;
like($guide, qr/validate = function \(app, err, at, changed\)/, 'the guide gives validate\'s signature');
like($guide, qr/`validate`[^\n]*\| `function \(app, err, at, changed\)`/, 'and the same in its table');
like($guide, qr/`measure_of\(id\)` \| a copy of a measure's declaration, with `starts` and `ends`/,
     'measure_of gives starts and ends');
like($guide, qr/A test without `at` is at 2024-01-01T00:00\+09:00/, 'a test\'s default time');
like($guide, qr/`t1`, `t2`, … in the order it creates them/, 'and its record ids');
done_testing;
