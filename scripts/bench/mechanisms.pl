#!/usr/bin/perl
# mechanisms.pl — `make bench-mechanisms`: what each of liud's speed
# mechanisms buys, measured by running scripts/bench/bench.pl (smaller
# sizes) with all of them and then with each one switched off alone, on the
# same machine, one run after the other.  See docs/PERFORMANCE.md.
#
#   perl scripts/bench/mechanisms.pl --bin DIR --plain-bin DIR --loadgen PATH --dir DIR
#        [--only NAME,...] [--repeat N] [any option of bench.pl after --]
#
# --repeat N (2): N passes over the runs, one after the other (each pass runs
# them all in turn, so that a slow minute does not fall on one side only);
# each figure is the median of its N runs.
#
# The switches (docs/OPERATIONS.md for the settings):
#   memo     storage.memo_mib = 0        eval's memo of answers
#   cache    storage.cache_mib = 0       the cache of decoded new records
#   staging  storage.stage_hours = 0     enforcement staged before a deadline
#   dict     storage.dict_records = 0    zstd with dictionaries -> plain zstd
#   reader   the build of --plain-bin    (LIUD_DEFS=-DLIU_PLAIN_RECORDS: eval
#            decodes a stored record with jansson, an action reads all of
#            data at once) instead of the lazy yajl reader
#
# Prints the headline figures of every run, then one line per mechanism:
#   mechanism: <figure> with W, without O (×W/O) ... buys>=20%=yes|no
# and writes them to DIR/mechanisms.txt.  Exit 0 when every run ran,
# whatever the figures.
use strict;
use warnings;
use utf8;
use Getopt::Long;
use JSON::PP;
use File::Path qw(make_path);
use Time::HiRes qw(time);

binmode STDOUT, ':encoding(UTF-8)';
$| = 1;
my %o = (bin => 'bin', 'plain-bin' => 'build/bench-plain/bin', loadgen => 'build/bench/loadgen',
	 dir => '/var/tmp/liud-bench-mechanisms', repeat => 2);
GetOptions(\%o, 'bin=s', 'plain-bin=s', 'loadgen=s', 'dir=s', 'only=s', 'repeat=i') or die "usage: see the head of $0\n";
# Sizes: enough records for a dictionary (1,000) and a sweep that takes a
# while; short rounds.  Options after -- go to bench.pl as they are.
my @sizes = ('--apps', 2000, '--sweep', 4000, '--startup', 2000, '--startup_runs', 1, '--rounds', 1,
	     '--secs', 2, '--warmup', 0.5);
my @runs = (
	[ 'all', 'every mechanism on', [] ],
	[ 'memo', 'eval memo', [ '--storage', 'memo_mib = 0' ] ],
	[ 'cache', 'record cache', [ '--storage', 'cache_mib = 0' ] ],
	[ 'staging', 'staged enforcement', [ '--storage', 'stage_hours = 0' ] ],
	[ 'dict', 'zstd dictionaries (vs plain zstd)', [ '--storage', 'dict_records = 0' ] ],
	[ 'reader', 'lazy yajl reader (vs jansson decode)', [ '--bin', $o{'plain-bin'} ] ],
);
if ($o{only}) {
	my %want = map { $_ => 1 } 'all', split /,/, $o{only};
	@runs = grep { $want{ $_->[0] } } @runs;
}
make_path($o{dir});
my $t0 = time;

# The figures of one run, from bench.pl's results.json.
sub figures {
	my ($dir) = @_;
	open my $f, '<', "$dir/results.json" or return undef;
	my $r = JSON::PP->new->decode(do { local $/; <$f> });
	my (%rps, %cpu);
	for my $x (@{ $r->{rounds} }) {
		next unless $x->{side} eq 'liud';
		push @{ $rps{"$x->{phase}-$x->{conns}-$x->{depth}"} }, $x->{rps};
		push @{ $cpu{"$x->{phase}-$x->{conns}-$x->{depth}"} }, $x->{srv_us};
	}
	my $med = sub { my @v = sort { $a <=> $b } grep { defined } @{ $_[0] // [] }; @v ? $v[$#v / 2] : undef };
	return {
		eval      => $med->($rps{'eval-50-1'}),     eval_us      => $med->($cpu{'eval-50-1'}),
		computed  => $r->{scaling}{computed}{rps},   computed_us  => $r->{scaling}{computed}{srv_us},
		cold      => $med->($rps{'cold-50-1'}),     cold_us      => $med->($cpu{'cold-50-1'}),
		amend_sub => $med->($rps{'amend_sub-50-1'}), amend_sub_us => $med->($cpu{'amend_sub-50-1'}),
		amend_conf => $med->($rps{'amend_conf-50-1'}), amend_conf_us => $med->($cpu{'amend_conf-50-1'}),
		sweep_s   => $r->{sweep}{secs},
		db_mib    => $r->{sweep}{db_mib},
	};
}

my %runs_of;   # name -> [figures of each pass]
for my $pass (1 .. $o{repeat}) {
for my $run (@runs) {
	my ($name, $label, $args) = @$run;
	my $dir = "$o{dir}/$name-$pass";
	my @cmd = ('perl', 'scripts/bench/bench.pl', '--bin', $o{bin}, '--loadgen', $o{loadgen}, '--dir', $dir,
		   @sizes, @ARGV, @$args);
	printf "[%6.0fs] pass %d: %s: %s\n", time - $t0, $pass, $name, $label;
	my $out = `@{[ map { "'$_'" } @cmd ]} 2>&1`;
	if ($? != 0) {
		print $out;
		die "bench-mechanisms: the run '$name' failed\n";
	}
	my ($line) = $out =~ /^(bench: .*)$/m;
	print "         $line\n";
	my $f = figures($dir) // die "bench-mechanisms: no results of '$name' in $dir\n";
	print '         liud: ', join(' ', map { "$_=" . (defined $f->{$_} ? fmt($f->{$_}) : '-') } sort keys %$f), "\n";
	push @{ $runs_of{$name} }, $f;
}
}
# Medians over the passes.
my %fig;
for my $name (keys %runs_of) {
	my @r = @{ $runs_of{$name} };
	for my $k (keys %{ $r[0] }) {
		my @v = sort { $a <=> $b } grep { defined } map { $_->{$k} } @r;
		$fig{$name}{$k} = @v ? (@v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2) : undef;
	}
}

# Each mechanism against its headline figures.  The daemon's CPU per
# request (µs, from /proc, over the same rounds) first: on a busy machine
# it varies far less than throughput, which other work takes from both
# sides alike.  Lower is better for µs, seconds and MiB; higher for /s.
my %headline = (
	memo    => [ qw(eval_us computed_us eval computed) ],
	cache   => [ qw(computed_us eval_us amend_sub_us computed) ],
	staging => [ qw(sweep_s) ],
	dict    => [ qw(sweep_s db_mib computed_us amend_sub_us) ],
	reader  => [ qw(computed_us amend_sub_us amend_conf_us computed amend_sub) ],
);
my %unit = (eval => '/s (eval by id, 50 clients)', computed => '/s (eval computed, memo misses)',
	    cold => '/s (eval of a record sent with the call)', amend_sub => '/s (amend, submitted)',
	    amend_conf => '/s (amend, confirmed)', sweep_s => " s (every record at one deadline)",
	    db_mib => ' MiB (database after the sweep)', map { ("${_}_us" => " µs of liud CPU per request ($_)") }
	    qw(eval computed cold amend_sub amend_conf));
my $report = '';
for my $run (@runs) {
	my ($name, $label) = @$run;
	next if $name eq 'all';
	my ($with, $without) = ($fig{all}, $fig{$name});
	my ($best, @parts) = (0);
	for my $k (@{ $headline{$name} }) {
		my ($w, $o) = ($with->{$k}, $without->{$k});
		next unless defined $w && defined $o && $w > 0 && $o > 0;
		my $gain = $k =~ /_s$|_mib$|_us$/ ? $o / $w : $w / $o;    # > 1: the mechanism helps
		$best = $gain if $gain > $best;
		push @parts, sprintf '%s %s with, %s without (×%.2f)', $k, fmt($w), fmt($o), $gain;
	}
	$report .= sprintf "mechanism %-8s %s: %s; buys>=20%%=%s\n", $name, $label, join('; ', @parts),
		$best >= 1.2 ? 'yes' : 'no';
}
sub fmt { my $v = shift; $v >= 100 ? sprintf('%.0f', $v) : sprintf('%.2f', $v) }
my $load = (split ' ', `cat /proc/loadavg`)[0];
$report .= sprintf "bench-mechanisms: %d runs x %d pass(es) in %.0f s (medians); load average %s at the end " .
	"(a busy machine makes every figure noisy)\n", scalar @runs, $o{repeat}, time - $t0, $load;
$report .= "units: " . join('; ', map { "$_$unit{$_}" } sort keys %unit) . "\n";
print "\n$report";
open my $f, '>:encoding(UTF-8)', "$o{dir}/mechanisms.txt" or die;
print $f $report;
close $f;
