#!/usr/bin/perl
# scripts/bench/hot.pl — builds of liud compared on the computed paths, side by
# side in one run: a cold eval (the record sent inline with `eval`) and a
# durable amend.  The full comparison with Redis is `make bench`; this is the
# quick loop for one change (docs/PERFORMANCE.md, "comparing two builds").
#
#   make bench-hot HOT_FLAGS="--bin base=/tmp/liud-base --bin new=bin/liud"
#   perl scripts/bench/hot.pl --bin A=PATH[:PACK] [--bin B=PATH[:PACK] ...] [--apps N]
#        [--rounds N] [--secs S] [--dir DIR] [--loadgen PATH]
#
# Each build gets a daemon of its own on a database of its own with the same
# applications (the ISMAP-LIU pack, the bench's 16 variants: scripts/bench/
# bench.pl writes them, and this script asks it for them with --smoke --keep
# when DIR has none).  Rounds alternate the builds; a figure is the median of
# the rounds: requests/s and the daemon's CPU time per request (all threads),
# the latter less sensitive to other work on the machine.
use strict;
use warnings;
use Getopt::Long;
use File::Path qw(make_path remove_tree);
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use JSON::PP;
use Time::HiRes qw(time sleep);
use Cwd qw(getcwd);

$| = 1;
my %o = (apps => 2000, rounds => 3, secs => 3, dir => '/var/tmp/liud-hot', loadgen => 'build/bench/loadgen',
	 conns => 50);
my @bins;
GetOptions(\%o, 'apps=i', 'rounds=i', 'secs=f', 'dir=s', 'loadgen=s', 'conns=i', 'only=s',
	   'bin=s' => \@bins) or die "usage: see the head of $0\n";
@bins or @bins = ('liud=bin/liud');
my $ROOT = getcwd();
my $DIR = $o{dir} =~ m{^/} ? $o{dir} : "$ROOT/$o{dir}";
my $LG = $o{loadgen} =~ m{^/} ? $o{loadgen} : "$ROOT/$o{loadgen}";
my $JSON = JSON::PP->new->utf8->canonical;
my $TCK = do { my $t = `getconf CLK_TCK`; $t =~ /(\d+)/ ? $1 : 100 };

# The bench's records (16 variants of a full application).
my $SUB = "$DIR/bench/data/submit.tmpl";
unless (-s $SUB) {
	system('perl', 'scripts/bench/bench.pl', '--smoke', '--keep', '--dir', "$DIR/bench", '--loadgen', $o{loadgen},
	       '--bin', 'bin') ;
	-s $SUB or die "hot: no $SUB\n";
}
my @variants = do { open my $f, '<:raw', $SUB or die $!; map { chomp; $JSON->decode($_) } <$f> };

sub cpu_secs {
	open my $f, '<', "/proc/$_[0]/stat" or return 0;
	my $l = <$f>;
	$l =~ s/^.*\)\s+//;
	my @f = split ' ', $l;
	return ($f[11] + $f[12]) / $TCK;
}
sub loadgen {
	my ($ok_errors, @args) = @_;
	my $out = `'$LG' @{[ map { "'$_'" } @args ]} 2>>'$DIR/loadgen.err'`;
	my %r = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split ' ', $out;
	die "hot: loadgen failed: $out\n" if !defined $r{ops} || (!$ok_errors && $r{errors});
	return \%r;
}
sub rpc {
	my ($sock, $req) = @_;
	my $s = IO::Socket::UNIX->new(Peer => $sock, Type => SOCK_STREAM) or die "hot: connect $sock: $!";
	print $s $JSON->encode({ jsonrpc => '2.0', id => 1, %$req }), "\n";
	my $line = <$s>;
	return $JSON->decode($line);
}
sub write_file { my ($p, @l) = @_; open my $f, '>:raw', $p or die "$p: $!"; print $f map { "$_\n" } @l }

remove_tree("$DIR/run");
make_path("$DIR/run");
write_file("$DIR/run/liud.conf", 'storage = { map_mib = 1024 }',
	   'rule_budget = { memory_mib = 512, instructions = 50000000, time_ms = 5000 }',
	   'limits = { connections = 4096, idle_timeout_s = 600 }', 'log_level = "warn"');
my $CLOCK = '2024-06-01T10:00:00+09:00';
my @d;
END { for (@d) { kill 'TERM', $_->{pid} if $_->{pid}; waitpid($_->{pid}, 0) if $_->{pid} } }
for my $b (@bins) {
	my ($name, $path) = split /=/, $b, 2;
	my $pack;
	($path, $pack) = split /:/, $path, 2;    # name=PATH:PACK, a pack of its own
	$pack //= "rules/ismap-liu";
	my $dd = "$DIR/run/$name";
	make_path($dd);
	system('cp', ($path =~ m{^/} ? $path : "$ROOT/$path"), "$dd/liud") == 0 or die "hot: cp $path\n";
	my $sock = "$dd/liud.sock";
	my $pid = fork // die;
	if (!$pid) {
		open STDERR, '>', "$dd/liud.log";
		exec "$dd/liud", '-c', "$DIR/run/liud.conf", '--socket', $sock, '--db', "$dd/db",
		     '--rules', ($pack =~ m{^/} ? $pack : "$ROOT/$pack"), '--test-clock', $CLOCK;
		die;
	}
	push @d, { name => $name, pid => $pid, sock => $sock, dir => $dd };
}
for my $x (@d) {
	my $t = time;
	sleep 0.1 until -S $x->{sock} && IO::Socket::UNIX->new(Peer => $x->{sock}, Type => SOCK_STREAM) || time - $t > 300;
	rpc($x->{sock}, { method => 'status' });
}
# The variants the pack accepts (the first daemon judges).
# Each daemon is sent the same probes, so that their records are numbered alike.
my @probes = map { my $v = $JSON->decode($JSON->encode($variants[$_])); $v->{params}{params}{service_name} =~ s/\{\{SEQ\}\}/probe $_/; $v } 0 .. $#variants;
my (@good, @lines);
for my $x (@d) {
	my @ok;
	for my $i (0 .. $#probes) {
		my $r = rpc($x->{sock}, $probes[$i]);
		next if $r->{error};
		push @ok, $i;
		$x->{first} = $1 + 1 if ($r->{result}{record}{id} // '') =~ /(\d+)$/;
	}
	next unless $x == $d[0];
	@good = map { $variants[$_] } @ok;
	@lines = map { $JSON->encode($variants[$_]) } @ok;   # with their {{SEQ}}
}
printf "%d of %d variants accepted\n", scalar @good, scalar @variants;
write_file("$DIR/run/submit.tmpl", @lines);
write_file("$DIR/run/eval.tmpl", map {
	$JSON->encode({ jsonrpc => '2.0', id => 1, method => 'eval', params => { record => $_->{params}{params}, at => $CLOCK } })
} @good);
my $probe = rpc($d[0]{sock}, { method => 'eval', params => { record => $good[0]{params}{params}, at => $CLOCK } });
die "hot: eval inline: " . $JSON->encode($probe) . "\n" if $probe->{error};
my $amend = '{"jsonrpc":"2.0","id":1,"method":"act","params":{"action":"amend","id":"LIU-{{ID}}","params":{"planned_liu_application":"%s"}}}';
write_file("$DIR/run/amend.tmpl", map { sprintf $amend, $_ } '2024-11', '2024-12');
for my $x (@d) {
	loadgen(0, '--socket', $x->{sock}, '--template', "$DIR/run/submit.tmpl", '--count', $o{apps}, '--conns', 1,
		'--depth', 64, '--seq-fmt', '%06d');
}
my @phases = (
	[ 'eval inline 1x1', [ '--template', "$DIR/run/eval.tmpl", '--conns', 1 ] ],
	[ "eval inline ${\ $o{conns}}x1", [ '--template', "$DIR/run/eval.tmpl", '--conns', $o{conns} ] ],
	[ "amend ${\ $o{conns}}x1", [ '--template', "$DIR/run/amend.tmpl", '--conns', $o{conns}, '--id-fmt', '%06d' ], 1 ],
	[ 'amend 1x1', [ '--template', "$DIR/run/amend.tmpl", '--conns', 1, '--id-fmt', '%06d' ], 1 ],
);
@phases = grep { $_->[0] =~ /$o{only}/ } @phases if $o{only};
my %res;
for my $r (1 .. $o{rounds}) {
	for my $p (@phases) {
		for my $x ($r % 2 ? @d : reverse @d) {
			my @ids = $p->[2] ? ('--id-min', $x->{first}, '--id-max', $x->{first} + $o{apps} - 1) : ();
			my $c0 = cpu_secs($x->{pid});
			my $t = loadgen(0, '--socket', $x->{sock}, @{ $p->[1] }, @ids, '--depth', 1, '--duration', $o{secs},
					'--warmup', 0.3);
			my $cpu = (cpu_secs($x->{pid}) - $c0) / ($t->{ops} || 1) * 1e6;
			push @{ $res{ $p->[0] }{ $x->{name} } }, [ $t->{rps}, $t->{p99_us}, $cpu ];
		}
	}
}
sub median { my @s = sort { $a <=> $b } @_; $s[$#s / 2] }
printf "%-18s %-8s %10s %10s %10s   (rounds: req/s)\n", 'phase', 'build', 'req/s', 'p99 us', 'cpu us';
for my $p (@phases) {
	for my $x (@d) {
		my $v = $res{ $p->[0] }{ $x->{name} };
		printf "%-18s %-8s %10.0f %10.0f %10.1f   (%s)\n", $p->[0], $x->{name}, median(map { $_->[0] } @$v),
			median(map { $_->[1] } @$v), median(map { $_->[2] } @$v), join(' ', map { sprintf '%.0f', $_->[0] } @$v);
	}
}
printf "load average %s", `cat /proc/loadavg`;
