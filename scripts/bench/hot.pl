#!/usr/bin/perl
# scripts/bench/hot.pl — builds of liud compared side by side in one run, on
# `make bench`'s first-table figures that a few minutes can take and on the
# computed paths.  The full comparison with Redis is `make bench`; this is the
# before/after of a change (docs/PERFORMANCE.md, "comparing two builds").
#
#   make bench-hot HOT_FLAGS="--tree base=../old --bin new=bin/liud"
#   perl scripts/bench/hot.pl --bin A=PATH[:PACK[:MINI]] | --tree A=DIR  (one per build, repeatable)
#        [--apps N] [--startup N] [--rounds N] [--secs S] [--warmup S] [--conns N]
#        [--only REGEX] [--dir DIR] [--loadgen PATH] [--smoke]
#
# Each build gets daemons of its own on databases of its own: one with the
# ISMAP-LIU pack and --apps applications (the bench's 16 variants: bench.pl
# --records writes them), one with the core's minimal pack and --startup
# records.  A build's packs come from the tree of its binary (X/bin/liud:
# X/rules/ismap-liu, X/tests/packs/mini) when it has them, else from this
# checkout; `--tree A=X` says the same for X/bin/liud.  The first build is
# the reference: every other one's figures are also given as a ratio to it.
#
# Phases (--only REGEX picks them by name), each round in this order, the
# builds alternated from one round to the next:
#   idle rss          the applications' daemon restarted: its start-up until
#                     the first answered request and, 0.3 s later, its RSS
#                     (make bench's rss_idle_mib); then every application
#                     evaluated once, so that the eval memo is warm as in
#                     make bench's eval rounds
#   startup           the minimal pack's daemon restarted with --startup
#                     records, until it answers a record.get (startup_ms)
#   eval id CxD       eval of a stored application by id, uniform random
#                     ids, C clients at pipeline depth D (C = --conns, D = 1
#                     and 16: make bench's eval_ratio and eval_p99_ratio)
#   eval inline 1x1, eval inline Cx1
#                     the record sent with the call (cold_ratio, cold1_ratio)
#   amend Cx1, amend 1x1
#                     a durable amend of the planned month (same_write_ratio,
#                     same_write1_ratio)
# A figure is the median of the rounds, with their min–max.  make bench's
# sweep (sweep_s) is left out: it enforces a deadline on every record, which
# a round cannot undo, and filling 100,000 records anew takes minutes.
use strict;
use warnings;
use Getopt::Long;
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use JSON::PP;
use Time::HiRes qw(time sleep);
use Cwd qw(getcwd);

binmode STDOUT, ':encoding(UTF-8)';
$| = 1;
my %o = (apps => 10000, startup => 200000, rounds => 3, secs => 3, warmup => 0.5, dir => '/var/tmp/liud-hot',
	 loadgen => 'build/bench/loadgen', conns => 50);
my (%given, @bins, @trees);
GetOptions(\%given, 'apps=i', 'startup=i', 'rounds=i', 'secs=f', 'warmup=f', 'dir=s', 'loadgen=s', 'conns=i',
	   'only=s', 'smoke', 'bin=s' => \@bins, 'tree=s' => \@trees) or die "usage: see the head of $0\n";
# --smoke: tiny sizes (a check of the harness: tests/80-bench-smoke.t), unless given as well.
%o = (%o, apps => 64, startup => 300, rounds => 1, secs => 0.2, warmup => 0.1) if $given{smoke};
%o = (%o, %given);
my $ROOT = getcwd();
sub abs_of { $_[0] =~ m{^/} ? $_[0] : "$ROOT/$_[0]" }
my $DIR = abs_of($o{dir});
my $LG = abs_of($o{loadgen});
-x $LG or die "hot: no load generator at $o{loadgen} (make bench-hot builds it)\n";
die "hot: --dir must be a folder of its own (it is emptied first)\n" if $DIR =~ m{^/*$} || $DIR eq $ROOT;
my $JSON = JSON::PP->new->utf8->canonical;
my $TCK = do { my $t = `getconf CLK_TCK`; $t =~ /(\d+)/ ? $1 : 100 };
my $CLOCK = '2024-06-01T10:00:00+09:00';
my $T0 = time;
sub note { printf "[%6.1fs] %s\n", time - $T0, join('', @_) }

# ---------------------------------------------------------------- helpers

sub cpu_secs {
	open my $f, '<', "/proc/$_[0]/stat" or return 0;
	my $l = <$f>;
	$l =~ s/^.*\)\s+//;
	my @f = split ' ', $l;
	return ($f[11] + $f[12]) / $TCK;
}
sub rss_kib {
	open my $f, '<', "/proc/$_[0]/status" or return 0;
	while (<$f>) { return $1 if /^VmRSS:\s+(\d+) kB/ }
	return 0;
}
sub loadgen {
	my @args = @_;
	my $pid = open(my $fh, '-|') // die "hot: fork: $!";
	if (!$pid) {
		open STDERR, '>>', "$DIR/loadgen.err" or die;
		exec $LG, @args or die "hot: exec $LG: $!";
	}
	my $out = do { local $/; <$fh> } // '';
	close $fh;
	my %r = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split ' ', $out;
	die "hot: loadgen failed (exit ${\ ($? >> 8)}): $out (see $DIR/loadgen.err)\n" if $? || !defined $r{ops} || $r{errors};
	return \%r;
}
sub rpc {
	my ($sock, $req) = @_;
	my $s = IO::Socket::UNIX->new(Peer => $sock, Type => SOCK_STREAM) or die "hot: connect $sock: $!";
	print $s $JSON->encode({ jsonrpc => '2.0', id => 1, %$req }), "\n";
	my $line = <$s> // die "hot: no reply from $sock\n";
	return $JSON->decode($line);
}
sub write_file { my ($p, @l) = @_; open my $f, '>:raw', $p or die "$p: $!"; print $f map { "$_\n" } @l }
sub median {
	my @v = sort { $a <=> $b } grep { defined } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# A daemon runs under `loadgen --spawn`, which times it until its first
# answered request and stays its parent (it reaps it), as in bench.pl.
# spawn_start and spawn_wait apart let the builds' first starts (a new
# pack's tests run before it goes live: seconds) overlap.
my @live;
sub spawn_start {
	my ($b, $which, $ready) = @_;
	my $sock = "$b->{dir}/$which.sock";
	my $log = "$b->{dir}/liud-$which.log";
	my @cmd = ("$b->{dir}/liud", '-c', "$DIR/liud.conf", '--socket', $sock, '--db', "$b->{dir}/db-$which",
		   '--rules', $b->{$which}, '--test-clock', $CLOCK);
	open(my $fh, '-|', $LG, '--socket', $sock, '--spawn-log', $log, ($ready ? ('--request', $ready) : ()),
	     '--spawn-timeout', 300, '--spawn', '--', @cmd) or die "hot: cannot run $LG: $!";
	return { fh => $fh, sock => $sock, log => $log, what => "$b->{name} ($which)" };
}
sub spawn_wait {
	my ($d) = @_;
	my $line = readline($d->{fh}) // '';
	my %r = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split ' ', $line;
	@{$d}{qw(pid startup_ms)} = @r{qw(pid startup_ms)};
	push @live, $d if $r{pid};
	if (!$r{startup_ms} || $r{startup_ms} eq 'fail' || $r{reply_error}) {
		my $tail = -e $d->{log} ? `tail -n 5 '$d->{log}'` : '';
		die "hot: $d->{what} did not start: $line\n$tail";
	}
	return $d;
}
sub spawn_daemon { spawn_wait(spawn_start(@_)) }
sub stop_daemon {
	my ($d) = @_;
	return unless $d && $d->{pid};
	my $t = time;
	kill 'TERM', $d->{pid};
	sleep 0.005 while kill(0, $d->{pid}) && time - $t < 60;
	kill 'KILL', $d->{pid} if kill 0, $d->{pid};
	close $d->{fh};
	@live = grep { $_ != $d } @live;
	$d->{pid} = undef;
}
# (stop_daemon takes its daemon out of @live: stop them from a copy; one left
# running would hold the exit, perl waiting for its loadgen at the pipe's close)
sub stop_all { stop_daemon($_) for @{[@live]} }
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = $SIG{PIPE} = sub { stop_all(); exit 130 };   # (PIPE: the output piped to a head that closed)
END { my $rc = $?; stop_all(); $? = $rc }

# ---------------------------------------------------------------- the builds

# NAME=PATH[:PACK[:MINI]]; a pack not given is the binary's tree's, if it
# has one (a build's pack may not load in another build), else this checkout's.
sub build_of {
	my ($spec) = @_;
	my ($name, $rest) = split /=/, $spec, 2;
	die "hot: --bin NAME=PATH, not $spec\n" unless defined $rest && $name =~ /^[\w.-]+$/;
	my ($path, $pack, $mini) = map { $_ eq '' ? undef : abs_of($_) } split /:/, $rest, 3;
	my $tree = dirname(dirname($path));
	$pack //= -d "$tree/rules/ismap-liu" ? "$tree/rules/ismap-liu" : "$ROOT/rules/ismap-liu";
	$mini //= -d "$tree/tests/packs/mini" ? "$tree/tests/packs/mini" : "$ROOT/tests/packs/mini";
	-x $path or die "hot: $name: no binary at $path\n";
	return { name => $name, bin => $path, pack_src => $pack, mini_src => $mini, dir => "$DIR/run/$name" };
}
@bins = map { build_of($_) } map({ my ($n, $t) = split /=/, $_, 2; "$n=$t/bin/liud" } @trees), @bins;
@bins or @bins = build_of('liud=bin/liud');
my %seen;
$seen{ $_->{name} }++ and die "hot: two builds named $_->{name}\n" for @bins;

my @phases = (
	{ name => 'idle rss', kind => 'idle' },
	{ name => 'startup', kind => 'startup' },
	{ name => "eval id $o{conns}x1", kind => 'load', args => [ '--request', 'EVAL_ID', '--conns', $o{conns}, '--depth', 1 ], ids => 1 },
	{ name => "eval id $o{conns}x16", kind => 'load', args => [ '--request', 'EVAL_ID', '--conns', $o{conns}, '--depth', 16 ], ids => 1 },
	{ name => 'eval inline 1x1', kind => 'load', args => [ '--template', 'EVAL_TMPL', '--conns', 1, '--depth', 1 ] },
	{ name => "eval inline $o{conns}x1", kind => 'load', args => [ '--template', 'EVAL_TMPL', '--conns', $o{conns}, '--depth', 1 ] },
	{ name => "amend $o{conns}x1", kind => 'load', args => [ '--template', 'AMEND_TMPL', '--conns', $o{conns}, '--depth', 1 ], ids => 1 },
	{ name => 'amend 1x1', kind => 'load', args => [ '--template', 'AMEND_TMPL', '--conns', 1, '--depth', 1 ], ids => 1 },
);
@phases = grep { $_->{name} =~ /$o{only}/ } @phases if defined $o{only};
@phases or die "hot: --only $o{only} picks no phase\n";
my $WANT_STARTUP = grep { $_->{kind} eq 'startup' } @phases;
my $WANT_WARM = grep { $_->{name} =~ /^eval id / } @phases;
my $WANT_APPS = grep { $_->{kind} ne 'startup' } @phases;

note sprintf 'builds: %s; apps=%d startup=%d rounds=%d secs=%s warmup=%s; phases: %s', join(', ', map { $_->{name} } @bins),
	@o{qw(apps startup rounds secs warmup)}, join(', ', map { $_->{name} } @phases);

# Every build runs on copies taken now (binary and packs), so that a rebuild
# or an edit in a checkout cannot change a run half-way.
remove_tree("$DIR/run");
make_path("$DIR/run");
write_file("$DIR/liud.conf", 'storage = { map_mib = 4096, max_map_mib = 65536 }',
	   'rule_budget = { memory_mib = 512, instructions = 50000000, time_ms = 5000 }',
	   'limits = { connections = 4096, idle_timeout_s = 600 }', 'log_level = "info"');
unlink "$DIR/loadgen.err";
for my $b (@bins) {
	make_path("$b->{dir}/packs");
	system('cp', $b->{bin}, "$b->{dir}/liud") == 0 or die "hot: cp $b->{bin}\n";
	system('cp', '-r', $b->{pack_src}, "$b->{dir}/packs/apps") == 0 or die "hot: cp -r $b->{pack_src}\n";
	system('cp', '-r', $b->{mini_src}, "$b->{dir}/packs/mini") == 0 or die "hot: cp -r $b->{mini_src}\n";
	@{$b}{qw(apps mini)} = ("$b->{dir}/packs/apps", "$b->{dir}/packs/mini");
	$b->{version} = `'$b->{dir}/liud' --version 2>&1` =~ s/\s+$//r;
	note "$b->{name}: $b->{bin} ($b->{version}), packs $b->{pack_src} and $b->{mini_src}";
}

# ---------------------------------------------------------------- the records

# The bench's records (16 variants of a full application), written anew by
# this checkout's bench.pl without Redis (a second).
my $SUB = "$DIR/bench/data/submit.tmpl";
system('perl', 'scripts/bench/bench.pl', '--records', '--dir', "$DIR/bench", '--loadgen', $LG,
       '--bin', dirname($bins[0]{bin})) == 0 && -s $SUB or die "hot: bench.pl --records wrote no $SUB\n";
my @variants = do { open my $f, '<:raw', $SUB or die $!; map { chomp; $JSON->decode($_) } <$f> };

# Each build judges the variants sent once as probes (so that every build's
# records are numbered alike); the records are the variants all of them
# accept.  A field that a build's pack does not know (one added to the pack
# since) is left out of that build's copy of the record, so that an older
# build is measured on the same records less that field.
sub strip_path {
	my ($h, $path) = @_;
	my @k = split /\./, $path;
	my $last = pop @k;
	for (@k) { $h = $h->{$_}; return 0 unless ref $h eq 'HASH' }
	return exists $h->{$last} && delete $h->{$last} && 1;
}
sub probe_build {
	my ($b, $d) = @_;
	my (%left_out, @rec);
	for my $i (0 .. $#variants) {
		my $v = $JSON->decode($JSON->encode($variants[$i]));
		for (1 .. 8) {
			my $p = $JSON->decode($JSON->encode($v));
			$p->{params}{params}{service_name} =~ s/\{\{SEQ\}\}/probe $i/;
			my $r = rpc($d->{sock}, $p);
			if (!$r->{error}) {
				$rec[$i] = $v;
				$b->{first} = $1 + 1 if ($r->{result}{record}{id} // '') =~ /(\d+)$/;
				last;
			}
			my $field = $r->{error}{data}{field} // '';
			last unless ($r->{error}{message} // '') =~ /unknown field/ && strip_path($v->{params}{params}, $field);
			$left_out{$field}++;
		}
	}
	note "$b->{name}: its pack does not know ", join(', ', sort keys %left_out), ': left out of its records' if %left_out;
	return \@rec;
}
my @apps_d = map { spawn_start($_, 'apps') } @bins;    # per build, its applications' daemon
spawn_wait($_) for @apps_d;
for my $i (0 .. $#bins) {
	my ($b, $d) = ($bins[$i], $apps_d[$i]);
	rpc($d->{sock}, { method => 'status' });
	$b->{records} = probe_build($b, $d);
	$b->{first} or die "hot: $b->{name} accepted none of the bench's variants\n";
}
my @good = grep { my $i = $_; !grep { !$_->{records}[$i] } @bins } 0 .. $#variants;
@good or die "hot: no variant that every build accepts\n";
note sprintf '%d of %d variants accepted by every build', scalar @good, scalar @variants;
my $amend = '{"jsonrpc":"2.0","id":1,"method":"act","params":{"action":"amend","id":"LIU-{{ID}}","params":{"planned_liu_application":"%s"}}}';
write_file("$DIR/run/amend.tmpl", map { sprintf $amend, $_ } '2024-11', '2024-12');
my $EVAL_ID = '{"jsonrpc":"2.0","id":1,"method":"eval","params":{"id":"LIU-{{ID}}"}}';
for my $i (0 .. $#bins) {
	my $b = $bins[$i];
	my @recs = map { $b->{records}[$_] } @good;
	write_file("$b->{dir}/submit.tmpl", map { $JSON->encode($_) } @recs);    # with their {{SEQ}}
	write_file("$b->{dir}/eval.tmpl", map {
		$JSON->encode({ jsonrpc => '2.0', id => 1, method => 'eval', params => { record => $_->{params}{params}, at => $CLOCK } })
	} @recs);
	$b->{subst} = { EVAL_ID => $EVAL_ID, EVAL_TMPL => "$b->{dir}/eval.tmpl", AMEND_TMPL => "$DIR/run/amend.tmpl" };
	my $probe = rpc($apps_d[$i]{sock}, { method => 'eval', params => { record => $recs[0]{params}{params}, at => $CLOCK } });
	die "hot: $b->{name}: eval inline: " . $JSON->encode($probe) . "\n" if $probe->{error};
}

# Every application evaluated once by id, in order: the memo as make
# bench's eval rounds find it.
sub warm {
	my ($b, $d) = @_;
	loadgen('--socket', $d->{sock}, '--request', '{"jsonrpc":"2.0","id":1,"method":"eval","params":{"id":"LIU-{{SEQ}}"}}',
		'--seq-start', $b->{first}, '--seq-fmt', '%06d', '--count', $o{apps}, '--conns', 1, '--depth', 16);
}
for my $i ($WANT_APPS ? 0 .. $#bins : ()) {
	my ($b, $d) = ($bins[$i], $apps_d[$i]);
	my $t = loadgen('--socket', $d->{sock}, '--template', "$b->{dir}/submit.tmpl", '--count', $o{apps}, '--conns', 1,
			'--depth', 64, '--seq-fmt', '%06d');
	note sprintf '%s: %d applications submitted in %.1f s (durable, 1 connection, depth 64)', $b->{name}, $o{apps}, $t->{secs};
	warm($b, $d) if $WANT_WARM;
}

# The start-up databases: --startup records of the minimal pack per build.
my $CREATE = '{"jsonrpc":"2.0","id":1,"method":"act","params":{"action":"create","params":{"text":"会議メモ {{SEQ}}: 議題と決定事項 (minutes of meeting {{SEQ}})"}}}';
my $READY = '{"jsonrpc":"2.0","id":1,"method":"record.get","params":{"id":"N-000001"}}';
if ($WANT_STARTUP) {
	for my $b (@bins) {
		my $m = spawn_daemon($b, 'mini');
		my $t = loadgen('--socket', $m->{sock}, '--request', $CREATE, '--count', $o{startup}, '--conns', 50,
				'--depth', 32, '--threads', 2, '--drain', 120);
		my $n = rpc($m->{sock}, { method => 'status' })->{result}{records}{note}{open} // 0;
		stop_daemon($m);
		die "hot: $b->{name}: the start-up database holds $n notes, not $o{startup}\n" unless $n == $o{startup};
		note sprintf '%s: start-up database, %d records (tests/packs/mini) created in %.1f s, %s MiB on disk', $b->{name},
			$o{startup}, $t->{secs}, `du -sm '$b->{dir}/db-mini'` =~ s/\s.*//sr;
	}
}

# ---------------------------------------------------------------- the rounds

my %res;    # phase name -> build name -> [ {figure => value} per round ]
sub run_phase {
	my ($p, $i) = @_;
	my ($b, $d) = ($bins[$i], $apps_d[$i]);
	if ($p->{kind} eq 'idle') {
		stop_daemon($d);
		$d = $apps_d[$i] = spawn_daemon($b, 'apps');
		sleep 0.3;
		my %f = ('RSS MiB' => rss_kib($d->{pid}) / 1024, 'restart ms' => $d->{startup_ms});
		warm($b, $d) if $WANT_WARM;
		return \%f;
	}
	if ($p->{kind} eq 'startup') {
		my $m = spawn_daemon($b, 'mini', $READY);
		stop_daemon($m);
		return { 'start-up ms' => $m->{startup_ms} };
	}
	my @args = map { $b->{subst}{$_} // $_ } @{ $p->{args} };
	push @args, '--id-min', $b->{first}, '--id-max', $b->{first} + $o{apps} - 1, '--id-fmt', '%06d' if $p->{ids};
	my $c0 = cpu_secs($d->{pid});
	my $t = loadgen('--socket', $d->{sock}, @args, '--threads', 1, '--duration', $o{secs}, '--warmup', $o{warmup});
	# The daemon's CPU over warm-up and window alike, per reply of both.
	my $cpu = (cpu_secs($d->{pid}) - $c0) / ($t->{replies} || $t->{ops} || 1) * 1e6;
	return { 'req/s' => $t->{rps}, 'p99 us' => $t->{p99_us}, 'cpu us' => $cpu };
}
for my $r (1 .. $o{rounds}) {
	for my $p (@phases) {
		for my $i ($r % 2 ? 0 .. $#bins : reverse 0 .. $#bins) {
			push @{ $res{ $p->{name} }{ $bins[$i]{name} } }, run_phase($p, $i);
		}
	}
	note "round $r of $o{rounds} done";
}

# ---------------------------------------------------------------- the table

my %FIGS = (idle => [ 'RSS MiB', 'restart ms' ], startup => [ 'start-up ms' ], load => [ 'req/s', 'p99 us', 'cpu us' ]);
my %FMT = ('RSS MiB' => '%.1f', 'restart ms' => '%.1f', 'start-up ms' => '%.1f', 'req/s' => '%.0f', 'p99 us' => '%.0f',
	   'cpu us' => '%.1f');
# One line per figure: per build its median and [min-max] of the rounds,
# then each later build's median as a ratio to the first's.
my $ref = $bins[0]{name};
my $line = sub { sprintf '%-17s %-11s' . (' %24s' x @bins) . (' %9s' x $#bins) . "\n", @_ };
print "\n", $line->('phase', 'figure', (map { "$_->{name}: median [min-max]" } @bins), map { "$_->{name}/$ref" } @bins[1 .. $#bins]);
my @summary;    # per build after the first, its ratios for the closing lines
for my $p (@phases) {
	for my $f (@{ $FIGS{ $p->{kind} } }) {
		my (@cells, @x);
		for my $i (0 .. $#bins) {
			my @v = sort { $a <=> $b } map { $_->{$f} } @{ $res{ $p->{name} }{ $bins[$i]{name} } };
			my $m = median(@v);
			push @cells, sprintf("$FMT{$f} [$FMT{$f}-$FMT{$f}]", $m, $v[0], $v[-1]);
			$x[$i] = $m;
		}
		my @r = map { $x[0] ? sprintf('%.2f', $x[$_] / $x[0]) : '-' } 1 .. $#bins;
		print $line->($p->{name}, $f, @cells, @r);
		push @{ $summary[$_] }, "$p->{name} $f" =~ s/ /_/gr . "=$r[$_ - 1]" for 1 .. $#bins;
	}
}
print "req/s: higher is better; p99 us, cpu us (the daemon's CPU per request, all threads), ms and MiB: lower is better\n";
printf "%d round(s) of %s s (warm-up %s s), %d applications, start-up with %d records; took %.0f s; load average %s",
	$o{rounds}, $o{secs}, $o{warmup}, $o{apps}, $o{startup}, time - $T0, `cat /proc/loadavg`;
print "hot: $bins[$_]{name}/$ref ", join(' ', @{ $summary[$_] }), "\n" for grep { $summary[$_] } 1 .. $#bins;
