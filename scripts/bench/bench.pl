#!/usr/bin/perl
# bench.pl — `make bench`: liud measured side by side with Redis, in one run,
# over Unix sockets, on the same records.  See docs/PERFORMANCE.md.
#
#   perl scripts/bench/bench.pl [--smoke] [--profile] [--rounds N] [--secs S]
#        [--apps N] [--sweep N] [--startup N] [--bin DIR] [--loadgen PATH] [--dir DIR]
#        [--script PATH]   (the Redis side: scripts/bench/eligibility.lua)
#        [--storage 'KEY = VALUE']...  (more of liud.conf's storage settings, e.g.
#                           'memo_mib = 0': make bench-mechanisms, scripts/bench/mechanisms.pl)
#        [--records]       (write the records' templates into DIR/data and stop: no
#                           Redis needed; scripts/bench/hot.pl takes its records so)
#
# Phases (each bounded in time; the load generator is scripts/bench/loadgen.c):
#   data     N applications with full statements (16 variants, as in the pack's
#            tests: eligible ones and ones failing R1..R4), loaded into liud by
#            `act submit` and into Redis as hashes; a share confirmed on both.
#   check    liud and the Redis script (scripts/bench/eligibility.lua) judge
#            alike: `eval` of stored records and of records sent with the call
#            (decision, failing checks and their reasons, measures,
#            incentives), in and after the period, and amends of a submitted
#            and a confirmed application accepted or refused alike.  The
#            bench stops (exit 1) if they do not.
#   eval     liud `eval` by id vs Redis `EVALSHA`, 1 and 50 clients, pipeline
#            depth 1 and 16: throughput, p50, p99; rounds alternate, medians.
#   cold     `eval` of a record sent with the call (nothing remembered) vs the
#            script decoding the same JSON with cjson, 1 and 50 clients.
#   write    durable writes: `act amend` vs a bare `HSET` (appendonly yes,
#            appendfsync always), 1 and 50 clients, for reference; then the
#            same work on both sides: amend vs the script's amend (validate,
#            bump the revision, HSET, an audit entry chained by hash), of the
#            submitted applications (1 and 50 clients) and of the confirmed
#            ones (50 clients; R1-R4 checked again on both sides).
#   sweep    the eval daemon is filled up to --sweep applications; the test
#            clock is moved across the deadline (clock.set) and `enforce`
#            waits for the enforcement, while readers measure their latency.
#   startup  --startup records (the core's minimal pack: small records, fast to
#            load), restarts timed until the first answered request; idle RSS.
#
# Prints a table and, last, one line (ratios: liud ÷ Redis throughput):
#   bench: eval_ratio=… eval_p99_ratio=… cold_ratio=… cold1_ratio=… same_write_ratio=…
#          same_write1_ratio=… same_write_confirmed_ratio=… write_ratio=… sweep_s=…
#          startup_ms=… rss_idle_mib=…
# The exit status says whether the bench ran (0) or not, never whether a
# target is met.
use strict;
use warnings;
use utf8;
use Getopt::Long;
use IO::Socket::UNIX;
use JSON::PP;
use POSIX qw(floor :sys_wait_h);
use Text::ParseWords qw(parse_line);
use Time::HiRes qw(time sleep);
use File::Path qw(make_path remove_tree);
use IO::Handle;
use Cwd qw(getcwd);

binmode STDOUT, ':encoding(UTF-8)';
binmode STDERR, ':encoding(UTF-8)';
$| = 1;

my %o = (rounds => 3, secs => 3, warmup => 0.5, apps => 10000, sweep => 100000, startup => 1000000,
	 bin => 'bin', loadgen => 'build/bench/loadgen', dir => ($ENV{BENCH_DIR} || '/var/tmp/liud-bench'), readers => 8,
	 startup_runs => 3, profile_secs => 8);
my %given;
GetOptions(\%given, 'smoke', 'profile', 'rounds=i', 'secs=f', 'warmup=f', 'apps=i', 'sweep=i',
	   'startup=i', 'bin=s', 'loadgen=s', 'dir=s', 'readers=i', 'startup_runs=i', 'keep',
	   'profile_secs=f', 'script=s', 'storage=s@', 'records') or die "usage: see the head of $0\n";
# --smoke: tiny sizes, unless given as well.
%o = (%o, rounds => 1, secs => 0.5, warmup => 0.2, apps => 300, sweep => 2000, startup => 20000,
      startup_runs => 1, profile_secs => 2) if $given{smoke};
%o = (%o, %given);
die "--sweep must be at least --apps\n" if $o{sweep} < $o{apps};

my $JSON = JSON::PP->new->utf8->canonical;
my $ROOT = getcwd();
sub abs_path_of { my $p = shift; $p =~ m{^/} ? $p : "$ROOT/$p" }
my $DIR = abs_path_of($o{dir});
my $T_START = time;
-x abs_path_of($o{loadgen}) or die "bench: no load generator at $o{loadgen} (make bench builds it)\n";
-x abs_path_of("$o{bin}/liud") or die "bench: no daemon at $o{bin}/liud (make bench builds it)\n";
die "bench: --dir must be a folder of its own (it is emptied first)\n" if $DIR =~ m{^/*$} || $DIR eq $ROOT;

# The run works on its own copies of the binaries and the rule packs, taken
# now: a rebuild, an edit of the pack or a `make clean` in the checkout
# meanwhile cannot change or break a run half-way.
remove_tree($DIR);
make_path("$DIR/data", "$DIR/bin", "$DIR/packs");
system('cp', abs_path_of("$o{bin}/liud"), abs_path_of($o{loadgen}), "$DIR/bin/") == 0
	and system('cp', '-r', "$ROOT/rules/ismap-liu", "$ROOT/tests/packs/mini", "$DIR/packs/") == 0
	or die "bench: cannot copy the binaries and packs into $DIR\n";
my $LG = "$DIR/bin/loadgen";
my $LIUD = "$DIR/bin/liud";
my $PACK = "$DIR/packs/ismap-liu";
my $MINI = "$DIR/packs/mini";
my $CSV = "$PACK/data/ismap-criteria-2022-04-01.csv";
my $PACK_VERSION = '?';
my $COMMIT = `git -C $ROOT rev-parse --short HEAD 2>/dev/null` =~ s/\s+$//r || '?';
$COMMIT .= ' + local changes' if `git -C $ROOT status --porcelain -- core rules 2>/dev/null` ne '';
my ($REDIS) = grep { -x } map { "$_/redis-server" } split /:/, ($ENV{PATH} // "") . ":/usr/sbin:/usr/bin";
$REDIS or $o{records} or die "bench: redis-server is not installed (make bench installs it: scripts/bench/deps.sh)\n";

# The clock of the benchmark's daemons: within the period, 10:00 JST.
my $CLOCK = '2024-06-01T10:00:00+09:00';
my $CLOCK_EPOCH = 1717203600;             # that instant, in seconds since 1970
my $DEADLINE = '2025-04-01T00:00:00+09:00';
my $DEADLINE_EPOCH = 1743433200;
my $STAGE_FROM = '2025-03-31T23:00:00+09:00';   # within storage.stage_hours of the deadline
my $TODAY = '2024-06-01';

# Stop what we started, whatever happens.
my @daemons;
sub cleanup { for my $d (@daemons) { stop_daemon($d, 'KILL') if $d->{pid} } }
$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 130 };
# (closing the daemons' pipes sets $?: the exit status stays the script's own)
END { my $rc = $?; cleanup(); $? = $rc }

sub note { printf "[%6.1fs] %s\n", time - $T_START, join('', @_) }

# ---------------------------------------------------------------- helpers

# Runs the load generator; returns its key=value line as a hash.
sub loadgen {
	my (@args) = @_;
	my $pid = open(my $fh, '-|') // die "bench: fork: $!";
	if ($pid == 0) {
		open STDERR, '>', "$DIR/loadgen.err" or die;
		exec $LG, @args or die "bench: exec $LG: $!";
	}
	my $out = do { local $/; <$fh> } // '';
	close $fh;
	my $rc = $? >> 8;
	my %r = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split ' ', $out;
	$r{_err} = do { open my $e, '<:encoding(UTF-8)', "$DIR/loadgen.err"; local $/; <$e> // '' };
	if ($rc != 0 || !defined $r{ops} || ($r{errors} // 0) > 0) {
		die "bench: loadgen @args[0..1] failed (exit $rc): $out\n" . substr($r{_err}, 0, 3000) . "\n";
	}
	return \%r;
}

sub proc_status {
	my ($pid) = @_;
	my %s;
	open my $f, '<', "/proc/$pid/status" or return {};
	while (<$f>) { $s{$1} = $2 if /^(\w+):\s+(\d+) kB/ }
	return \%s;
}
sub mib { sprintf '%.1f', ($_[0] // 0) / 1024 }
# CPU seconds used so far by a process (all its threads).
my $TCK = do { my $t = `getconf CLK_TCK`; $t =~ /(\d+)/ ? $1 : 100 };
sub cpu_secs {
	my ($pid) = @_;
	open my $f, '<', "/proc/$pid/stat" or return 0;
	my $l = <$f>;
	$l =~ s/^.*\)\s+//;                 # after "pid (comm) "
	my @f = split ' ', $l;
	return ($f[11] + $f[12]) / $TCK;     # utime + stime
}

# Starts a daemon under loadgen --spawn (times it until the first answered
# request, and stays its parent).
sub spawn {
	my (%a) = @_;
	my @cmd = ($LG, '--socket', $a{sock}, '--proto', $a{proto}, '--spawn-log', $a{log},
		   ($a{ready} ? ('--request', $a{ready}) : ()), '--spawn-timeout', 300, '--spawn', '--', @{ $a{cmd} });
	my $pid = open(my $fh, '-|', @cmd) or die "bench: cannot run $LG: $!";
	my $line = <$fh> // '';
	my %r = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split ' ', $line;
	my $d = { %a, fh => $fh, lg_pid => $pid, pid => $r{pid}, startup_ms => $r{startup_ms} };
	push @daemons, $d;
	if (!$r{startup_ms} || $r{startup_ms} eq 'fail' || $r{reply_error}) {
		my $log = -e $a{log} ? `tail -20 $a{log}` : '';
		die "bench: $a{name} did not start: $line\n$log\n";
	}
	return $d;
}

sub stop_daemon {
	my ($d, $sig) = @_;
	return unless $d->{pid};
	my $t = time;
	kill($sig // 'TERM', $d->{pid});
	# loadgen, the daemon's parent, reaps it and then exits.
	while (kill(0, $d->{pid}) && time - $t < 60) { sleep 0.005 }
	kill('KILL', $d->{pid}) if kill(0, $d->{pid});
	close($d->{fh});
	$d->{pid} = undef;
	$d->{stop_ms} = (time - $t) * 1000;
	return $d->{stop_ms};
}

# One JSON-RPC call on its own connection.
my $rpc_id = 0;
sub rpc {
	my ($sock, $method, $params) = @_;
	my $s = IO::Socket::UNIX->new(Peer => $sock, Type => SOCK_STREAM) or die "bench: connect $sock: $!";
	my $req = { jsonrpc => '2.0', id => ++$rpc_id, method => $method };
	$req->{params} = $params if defined $params;
	print $s $JSON->encode($req), "\n";
	my $line = <$s>;
	close $s;
	die "bench: no reply to $method\n" unless defined $line;
	my $r = $JSON->decode($line);
	die "bench: $method failed: " . $JSON->encode($r->{error}) . "\n" if $r->{error};
	return $r->{result};
}

# One Redis command (RESP) on a kept connection.
my %resp_conn;
sub resp {
	my ($sock, @args) = @_;
	my $s = $resp_conn{$sock} //= IO::Socket::UNIX->new(Peer => $sock, Type => SOCK_STREAM)
		or die "bench: connect $sock: $!";
	my $req = '*' . scalar(@args) . "\r\n";
	for my $a (@args) { utf8::encode($a) if utf8::is_utf8($a); $req .= '$' . length($a) . "\r\n$a\r\n" }
	print $s $req;
	return resp_read($s);
}
sub resp_read {
	my ($s) = @_;
	my $line = <$s> // die "bench: redis closed the connection\n";
	$line =~ s/\r\n$//;
	my ($t, $v) = (substr($line, 0, 1), substr($line, 1));
	return $v if $t eq '+' || $t eq ':';
	die "bench: redis error: $v\n" if $t eq '-';
	if ($t eq '$') {
		return undef if $v < 0;
		my $buf = '';
		read($s, $buf, $v + 2) == $v + 2 or die "bench: short read from redis\n";
		return substr($buf, 0, $v);
	}
	if ($t eq '*') { return [ map { resp_read($s) } 1 .. $v ] }
	die "bench: bad reply from redis: $line\n";
}

sub median {
	my @v = sort { $a <=> $b } grep { defined } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# The disk: append 200 bytes and fsync, n times, in the bench folder.
sub fsync_us {
	my ($n) = @_;
	my $p = "$DIR/fsync.probe";
	open my $f, '>>', $p or return (undef, undef);
	my @t;
	for (1 .. $n) {
		my $t0 = time;
		print $f 'x' x 200;
		$f->flush;
		$f->sync;
		push @t, (time - $t0) * 1e6;
	}
	close $f;
	unlink $p;
	@t = sort { $a <=> $b } @t;
	return ($t[int(@t / 2)], $t[int(@t * 0.99)]);
}

# ---------------------------------------------------------------- the machine

my $cpu = `grep -m1 'model name' /proc/cpuinfo` =~ s/^.*:\s*//r =~ s/\s+$//r;
my $nproc = `nproc` =~ s/\s+$//r;
my $mem_mib = int((`grep MemTotal /proc/meminfo` =~ /(\d+)/)[0] / 1024);
my $kernel = `uname -r` =~ s/\s+$//r;
my $redis_version = $REDIS ? (`$REDIS --version` =~ /v=(\S+)/)[0] // '?' : 'none';
my $liud_version = `$LIUD --version 2>&1` =~ s/\s+$//r;
my $fs = (split ' ', (`df -PT $ROOT 2>/dev/null | tail -1` // ''))[1] // '?';
sub loadavg { (split ' ', `cat /proc/loadavg`)[0] }
my $load_start = loadavg();
note "machine: $nproc CPU ($cpu), $mem_mib MiB, Linux $kernel, filesystem $fs; load average $load_start";
note "warning: the machine is busy (load average $load_start): figures will be noisy" if $load_start > 0.5;
note "liud: $liud_version; redis-server $redis_version; binaries and packs copied to $DIR";
note "sizes: apps=$o{apps} sweep=$o{sweep} startup=$o{startup} rounds=$o{rounds} secs=$o{secs}" .
     ($o{smoke} ? ' (smoke)' : '');

my %calib;
@calib{qw(fsync_p50 fsync_p99)} = fsync_us(200);
note sprintf "calibration: append+fsync of 200 bytes in %s: p50 %.0f us, p99 %.0f us", $o{dir}, @calib{qw(fsync_p50 fsync_p99)};

# ---------------------------------------------------------------- the records

# The criteria, as the pack reads them (02-criteria.lua).
my (@gov, @mgmt, @obj, @bctl);
{
	open my $f, '<:encoding(UTF-8)', $CSV or die "bench: $CSV: $!";
	my $head = <$f>;
	chomp $head;
	my @cols = split /,/, $head;
	while (my $l = <$f>) {
		$l =~ s/\r?\n$//;
		my %r;
		@r{@cols} = parse_line(',', 0, $l);
		if ($r{criteria_type} eq 'governance') { push @gov, $r{control_id} }
		elsif ($r{criteria_type} eq 'management') { push @mgmt, $r{control_id} }
		elsif ($r{level} eq 'objective') { push @obj, $r{control_id} }
		elsif ($r{suffix} eq 'B' || $r{suffix} eq 'PB') { push @bctl, [ $r{control_id}, $r{parent_id} ] }
	}
}
my $n_ids = @gov + @mgmt + @obj + @bctl;
note "criteria: $n_ids identifiers (" . scalar(@gov) . " governance, " . scalar(@mgmt) . " management, " .
     scalar(@obj) . " objectives, " . scalar(@bctl) . " B controls)";

sub base_app {
	my %controls = map { $_ => 'met' } @gov, @mgmt, @obj, map { $_->[0] } @bctl;
	return {
		service_name => 'クラウド会計SaaS', provider_name => '株式会社テスト',
		provider_corporate_number => '7000012050002',
		impact_assessment => { assessor => 'デジタル庁', assessor_type => 'national_agency', route => 'agency',
				       result => 'low', assessed_on => '2023-06-01' },
		statement => { criteria_version => '2022-04-01', stated_on => '2023-06-10', controls => \%controls },
		pledge => { submitted_on => '2023-06-15' },
		planned_liu_application => '2024-10',
		certifications => [ { name => 'ISO/IEC 27001', valid_until => '2026-03-31' } ],
	};
}
my %parent_of_b = map { $_->[0] => $_->[1] } @bctl;
my @excludable = do { my %seen; grep { !$seen{$_}++ } map { $_->[1] } @bctl };

# 16 variants: 10 eligible ones of several shapes, 6 failing one requirement or more.
my @variants = (
	[ 'eligible: all met', 1, sub { } ],
	[ 'eligible: independent agency, planned on a day, two certifications', 1, sub {
		my $a = shift;
		$a->{impact_assessment} = { assessor => '独立行政法人情報処理推進機構', assessor_type => 'independent_agency',
					    route => 'agency', result => 'low', assessed_on => '2023-07-03' };
		$a->{planned_liu_application} = '2024-12-15';
		push @{ $a->{certifications} }, { name => 'ISO/IEC 27017', valid_until => '2025-09-30' };
	} ],
	[ 'eligible: two objectives excluded with a reason, their B controls omitted', 1, sub {
		my $a = shift;
		my $c = $a->{statement}{controls};
		for my $o (@excludable[0, 1]) {
			$c->{$o} = { excluded => '当該サービスでは該当する業務がないため (not applicable to this service)' };
			delete $c->{$_} for grep { $parent_of_b{$_} eq $o } keys %parent_of_b;
		}
	} ],
	[ 'eligible: designated corporation, planned 2025-03', 1, sub {
		my $a = shift;
		@{ $a->{impact_assessment} }{qw(assessor assessor_type assessed_on)} = ('指定法人A', 'designated_corporation', '2023-09-01');
		$a->{planned_liu_application} = '2025-03';
	} ],
	[ 'eligible: no corporate number, SOC 2', 1, sub {
		my $a = shift;
		delete $a->{provider_corporate_number};
		$a->{certifications} = [ { name => 'SOC 2 Type 2', valid_until => '2025-06-30' } ];
	} ],
	[ 'eligible: planned this month (2024-06)', 1, sub { $_[0]{planned_liu_application} = '2024-06' } ],
	[ 'eligible: no certifications', 1, sub { $_[0]{certifications} = [] } ],
	[ 'eligible: assessed and stated before the period, pledged on its first day', 1, sub {
		my $a = shift;
		$a->{impact_assessment}{assessed_on} = '2023-05-01';
		$a->{statement}{stated_on} = '2023-05-10';
		$a->{pledge}{submitted_on} = '2023-05-19';
	} ],
	[ 'eligible: assessed through the consultation desk', 1, sub {
		$_[0]{impact_assessment}{route} = 'consultation_desk';
	} ],
	[ 'eligible: long names', 1, sub {
		my $a = shift;
		$a->{provider_name} = '株式会社クラウドサービス・ジャパン・ホールディングス情報システム事業本部';
		$a->{service_name} = '統合型クラウド業務支援サービス（会計・人事・ワークフロー）';
	} ],
	[ 'fails R3: three B controls not stated', 0, sub {
		my $c = $_[0]{statement}{controls};
		delete $c->{ $bctl[$_][0] } for 0, 5, 10;
	} ],
	[ 'fails R2: result moderate', 0, sub { $_[0]{impact_assessment}{result} = 'moderate' } ],
	[ 'fails R4: no pledge', 0, sub { delete $_[0]{pledge} } ],
	[ 'fails R1: planned after the period', 0, sub { $_[0]{planned_liu_application} = '2025-06' } ],
	[ 'fails R2 and R3: agency not allowed before 2023-05-19, two governance items missing', 0, sub {
		my $a = shift;
		@{ $a->{impact_assessment} }{qw(assessor_type assessed_on)} = ('independent_agency', '2023-04-01');
		delete $a->{statement}{controls}{$_} for @gov[0, 1];
	} ],
	[ 'fails R1-R4: only names given so far', 0, sub {
		my $a = shift;
		delete $a->{$_} for qw(impact_assessment statement pledge planned_liu_application certifications);
	} ],
);
my $K = @variants;
sub variant_of { ($_[0] - 1) % $K }          # the variant of application n (1-based)
sub eligible_n { $variants[variant_of($_[0])][1] }
# About a fifth of them; not one without its 法人番号, which the pack does not
# confirm (a listed service is its number and its name), though eval finds it
# eligible.
sub confirmed_n { eligible_n($_[0]) && $_[0] % 3 == 0 && $variants[variant_of($_[0])][0] !~ /no corporate number/ }

my (@submit_lines, @hset_lines, @variant_apps);
for my $i (0 .. $K - 1) {
	my $a = base_app();
	$variants[$i][2]->($a);
	push @variant_apps, $JSON->decode($JSON->encode($a));   # as submitted, before the name below
	$a->{service_name} .= ' #{{SEQ}}';
	push @submit_lines, $JSON->encode({ jsonrpc => '2.0', id => 1, method => 'act',
					    params => { action => 'submit', params => $a } });
	my @args = ('HSET', 'app:LIU-{{SEQ}}', 'state', 'submitted');
	for my $k (sort keys %$a) {
		my $v = $a->{$k};
		push @args, $k, ref $v ? $JSON->encode($v) : do { my $s = $v; utf8::encode($s); $s };
	}
	die "bench: a TAB or newline in a value\n" if grep { /[\t\n]/ } @args;
	push @hset_lines, join("\t", @args);
}
sub write_file { my ($p, @lines) = @_; open my $f, '>:raw', $p or die "$p: $!"; print $f map { "$_\n" } @lines; close $f }
write_file("$DIR/data/submit.tmpl", @submit_lines);
if ($o{records}) {
	note "records: $K variants written to $DIR/data/submit.tmpl (--records: nothing measured)";
	exit 0;
}
write_file("$DIR/data/hset.tmpl", @hset_lines);
my $app_bytes = median(map { length } @submit_lines);
note sprintf "records: %d variants (%d eligible), a submit request is %.1f KiB (median)",
	$K, scalar(grep { $_->[1] } @variants), $app_bytes / 1024;

# The Redis script, with the identifier lists of the criteria put in.
my $script;
{
	my $path = abs_path_of($o{script} // 'scripts/bench/eligibility.lua');
	open my $f, '<:raw', $path or die "bench: $path: $!";
	local $/;
	$script = <$f>;
	my $list = sub { '{ ' . join(', ', map { "\"$_\"" } @_) . ' }' };
	my $crit = "local CRITERIA_VERSION = \"2022-04-01\"\n" .
		"local GOVERNANCE = " . $list->(@gov) . "\n" .
		"local MANAGEMENT = " . $list->(@mgmt) . "\n" .
		"local OBJECTIVES = " . $list->(@obj) . "\n" .
		"local B_CONTROLS = { " . join(', ', map { "{ \"$_->[0]\", \"$_->[1]\" }" } @bctl) . " }\n";
	utf8::encode($crit);   # bytes, as the script is
	$script =~ s/^--\@CRITERIA\@$/$crit/m or die "bench: no --\@CRITERIA\@ in eligibility.lua\n";
	open my $g, '>:raw', "$DIR/data/eligibility.lua" or die $!;
	print $g $script;
}

# ---------------------------------------------------------------- the servers

my $conf = "$DIR/liud.conf";
write_file($conf,
	'storage = { ' . join(', ', 'map_mib = 4096', 'max_map_mib = 65536', @{ $o{storage} // [] }) . ' }',
	'rule_budget = { memory_mib = 512, instructions = 50000000, time_ms = 5000 }',
	'limits = { connections = 4096, idle_timeout_s = 600 }',
	'log_level = "info"');
my $LSOCK = "$DIR/liud.sock";
my @liud_cmd = ($LIUD, '-c', $conf, '--socket', $LSOCK, '--db', "$DIR/db", '--rules', $PACK,
		'--test-clock', $CLOCK);
my $liud = spawn(name => 'liud', sock => $LSOCK, proto => 'liud', log => "$DIR/liud.log", cmd => \@liud_cmd);
$PACK_VERSION = substr(rpc($LSOCK, 'status')->{rules}{version} // '?', 0, 12);
note "liud started in $liud->{startup_ms} ms (empty database, pack rules/ismap-liu $PACK_VERSION), pid $liud->{pid}";

my $RSOCK = "$DIR/redis.sock";
make_path("$DIR/redis");
write_file("$DIR/redis.conf",
	'port 0', "unixsocket $RSOCK", 'unixsocketperm 700', "dir $DIR/redis", 'daemonize no',
	"logfile $DIR/redis.log", 'save ""', 'appendonly yes', 'appendfsync always', 'maxclients 10000',
	'protected-mode no');
my $redis = spawn(name => 'redis', sock => $RSOCK, proto => 'resp', log => "$DIR/redis.out",
		  cmd => [ $REDIS, "$DIR/redis.conf" ]);
note "redis-server started in $redis->{startup_ms} ms, pid $redis->{pid} (appendonly yes, appendfsync always)";
my $sha = resp($RSOCK, 'SCRIPT', 'LOAD', $script);
{
	my $p = loadgen('--socket', $RSOCK, '--proto', 'resp', '--request', 'PING', '--duration', 1, '--warmup', 0.2,
			'--label', 'ping');
	@calib{qw(ping_rps ping_p50 ping_p99)} = @{$p}{qw(rps p50_us p99_us)};
	note sprintf "calibration: Redis PING over the Unix socket, 1 client: %.0f/s, p50 %.1f us, p99 %.1f us",
		@calib{qw(ping_rps ping_p50 ping_p99)};
}

# ---------------------------------------------------------------- load

my $N = $o{apps};
sub confirm_lines {
	my ($from, $to) = @_;
	my (@l, @r);
	for my $n ($from .. $to) {
		next unless confirmed_n($n);
		my $id = sprintf 'LIU-%06d', $n;
		push @l, $JSON->encode({ jsonrpc => '2.0', id => 1, method => 'act', params => { action => 'confirm', id => $id } });
		push @r, join("\t", 'HSET', "app:$id", 'state', 'confirmed', 'confirmed_on', $TODAY);
	}
	return (\@l, \@r);
}

# One connection, deep pipeline: ids are given in request order, so that
# LIU-000123 holds application 123 on both sides.
my $t = loadgen('--socket', $LSOCK, '--template', "$DIR/data/submit.tmpl", '--count', $N, '--conns', 1,
		'--depth', 128, '--seq-fmt', '%06d', '--show-errors', 3, '--label', 'load');
my %load = (liud_submit_rps => $t->{rps});
note sprintf "liud: %d applications submitted in %.1f s (%.0f/s, durable, 1 connection, depth 128)", $N, $t->{secs}, $t->{rps};
my ($cl, $cr) = confirm_lines(1, $N);
write_file("$DIR/data/confirm.tmpl", @$cl);
write_file("$DIR/data/confirm-redis.tmpl", @$cr);
$t = loadgen('--socket', $LSOCK, '--template', "$DIR/data/confirm.tmpl", '--count', scalar(@$cl), '--conns', 1,
	     '--depth', 64, '--show-errors', 3, '--label', 'confirm');
note sprintf "liud: %d confirmed in %.1f s", scalar(@$cl), $t->{secs};
$t = loadgen('--socket', $RSOCK, '--proto', 'resp', '--template', "$DIR/data/hset.tmpl", '--count', $N,
	     '--conns', 1, '--depth', 128, '--seq-fmt', '%06d', '--show-errors', 3, '--label', 'load');
$load{redis_hset_rps} = $t->{rps};
note sprintf "redis: %d applications stored in %.1f s (%.0f/s)", $N, $t->{secs}, $t->{rps};
loadgen('--socket', $RSOCK, '--proto', 'resp', '--template', "$DIR/data/confirm-redis.tmpl", '--count',
	scalar(@$cr), '--conns', 1, '--depth', 64, '--label', 'confirm') if @$cr;
my $st = rpc($LSOCK, 'status');
my $counts = $st->{records}{application} // {};
die "bench: liud holds " . join(',', %$counts) . ", not $N applications\n"
	unless ($counts->{submitted} // 0) + ($counts->{confirmed} // 0) == $N;
my $rsize = resp($RSOCK, 'DBSIZE');
die "bench: redis holds $rsize keys, not $N\n" unless $rsize == $N;
note "liud: " . join(', ', map { "$_=$counts->{$_}" } sort keys %$counts) . "; redis: $rsize hashes";

# ---------------------------------------------------------------- check: both judge alike

sub failing { join ',', map { $_->{id} } grep { !$_->{ok} } @{ $_[0]{checks} } }
# What differs between liud's eval result $l and the Redis script's $r.
sub differences {
	my ($l, $r) = @_;
	my @why;
	push @why, "decision $l->{decision} vs $r->{decision}" if $l->{decision} ne $r->{decision};
	push @why, 'failing ' . failing($l) . ' vs ' . failing($r) if failing($l) ne failing($r);
	my %lr = map { $_->{id} => $_ } @{ $l->{checks} };
	for my $c (@{ $r->{checks} }) {
		my $lc = $lr{ $c->{id} } or next;
		next if $c->{ok};
		push @why, "$c->{id} reason: liud «$lc->{reason}{en}» redis «$c->{reason}{en}»"
			if ($lc->{reason}{en} // '') ne $c->{reason}{en};
	}
	push @why, 'measures ' . join(',', @{ $l->{measures_in_force} }) . ' vs ' . join(',', @{ $r->{measures_in_force} })
		if join(',', @{ $l->{measures_in_force} }) ne join(',', @{ $r->{measures_in_force} });
	for my $inc (qw(audit_scope internal_audit_report)) {
		push @why, "incentive $inc"
			if ($l->{incentives}{$inc}{available} ? 1 : 0) != ($r->{incentives}{$inc}{available} ? 1 : 0);
	}
	return @why;
}
# One call on either side that may be refused: (1, result) or (0, message).
sub liud_try {
	my ($method, $params) = @_;
	my $r = eval { rpc($LSOCK, $method, $params) };
	return $@ ? (0, $@ =~ s/\s+$//r) : (1, $r);
}
sub redis_try {
	my (@args) = @_;
	my $r = eval { resp($RSOCK, @args) };
	return $@ ? (0, $@ =~ s/\s+$//r) : (1, $r);
}
my ($checked, @mismatch, %decisions) = (0);
my @whens = ([ $CLOCK, $CLOCK_EPOCH ], [ $DEADLINE, $DEADLINE_EPOCH ]);
# Stored records: eval by id vs the script reading the hash.
for my $n (1 .. ($N < 3 * $K ? $N : 3 * $K)) {
	my $id = sprintf 'LIU-%06d', $n;
	for my $when (@whens) {
		my $l = rpc($LSOCK, 'eval', { id => $id, at => $when->[0] });
		my $r = $JSON->decode(resp($RSOCK, 'EVALSHA', $sha, 1, "app:$id", 'stored', $when->[1]));
		$checked++;
		$decisions{"$l->{decision}"}++ if $when->[1] == $CLOCK_EPOCH;
		my @why = differences($l, $r);
		push @mismatch, "$id at $when->[0] (" . $variants[variant_of($n)][0] . '): ' . join('; ', @why) if @why;
		my $want = eligible_n($n) && $when->[1] == $CLOCK_EPOCH ? 'eligible' : 'ineligible';
		push @mismatch, "$id at $when->[0]: liud says $l->{decision}, the variant is $want" if $l->{decision} ne $want;
	}
}
# Records sent with the call (cold eval): every variant, as submitted.
for my $i (0 .. $K - 1) {
	for my $when (@whens) {
		my $l = rpc($LSOCK, 'eval', { record => $variant_apps[$i], at => $when->[0] });
		my $r = $JSON->decode(resp($RSOCK, 'EVALSHA', $sha, 0, 'inline', $when->[1], $JSON->encode($variant_apps[$i])));
		$checked++;
		my @why = differences($l, $r);
		push @mismatch, "inline variant $i at $when->[0] ($variants[$i][0]): " . join('; ', @why) if @why;
	}
}
# Amends: accepted or refused alike, for a submitted and a confirmed
# application each: a month that is not one, one after the period (a
# confirmed application would then fail R1), then one within it (both
# sides end with the same value).
my $amends = 0;
{
	my ($sub) = grep { !confirmed_n($_) && eligible_n($_) } 1 .. $N;
	my ($conf) = grep { confirmed_n($_) } 1 .. $N;
	for my $n (grep { defined } $sub, $conf) {
		my $id = sprintf 'LIU-%06d', $n;
		for my $v ('2024-13', '2025-06', '2024-11') {
			my ($lok, $lr) = liud_try('act', { action => 'amend', id => $id, params => { planned_liu_application => $v } });
			my ($rok, $rr) = redis_try('EVALSHA', $sha, 3, "app:$id", 'audit', 'audit_head', 'amend', $CLOCK_EPOCH,
						   'planned_liu_application', $v);
			$amends++;
			push @mismatch, "amend of $id (" . (confirmed_n($n) ? 'confirmed' : 'submitted') . ") to $v: liud " .
				($lok ? 'accepts' : "refuses ($lr)") . ', redis ' . ($rok ? 'accepts' : "refuses ($rr)") if $lok != $rok;
		}
	}
}
if (@mismatch) {
	print STDERR "bench: liud and the Redis script disagree:\n", map { "  $_\n" } @mismatch[0 .. ($#mismatch > 9 ? 9 : $#mismatch)];
	die "bench: the two sides do not judge alike; fix scripts/bench/eligibility.lua (or the pack changed)\n";
}
note "check: liud and the Redis script agree on $checked evaluations (stored and sent with the call: decision, " .
     "failing checks, reasons, measures, incentives) and $amends amends (accepted or refused)";

# A restart: start-up with N applications, then idle RSS.
stop_daemon($liud);
$liud = spawn(name => 'liud', sock => $LSOCK, proto => 'liud', log => "$DIR/liud.log", cmd => \@liud_cmd);
my %rss;
sleep 0.3;
$rss{liud_idle} = proc_status($liud->{pid});
$rss{redis_idle} = proc_status($redis->{pid});
note sprintf "liud restarted with %d applications in %s ms; idle RSS %s MiB (anon %s, file %s); redis idle RSS %s MiB",
	$N, $liud->{startup_ms}, mib($rss{liud_idle}{VmRSS}), mib($rss{liud_idle}{RssAnon}),
	mib($rss{liud_idle}{RssFile}), mib($rss{redis_idle}{VmRSS});
my $startup_apps_ms = $liud->{startup_ms};

# ---------------------------------------------------------------- eval and write rounds

my @results;   # {phase, conns, depth, side, rps, p50, p99, round}
my %liud_rss_load = (VmRSS => 0);
sub run_pair {
	my ($phase, $conns, $depth, $liud_args, $redis_args) = @_;
	my @common = ('--conns', $conns, '--depth', $depth, '--threads', 1,
		      '--duration', $o{secs}, '--warmup', $o{warmup}, '--id-min', 1, '--id-max', $N,
		      '--id-fmt', '%06d', '--show-errors', 3);
	for my $round (1 .. $o{rounds}) {
		for my $side ('liud', 'redis') {
			my $pid = $side eq 'liud' ? $liud->{pid} : $redis->{pid};
			my $c0 = cpu_secs($pid);
			my $r = $side eq 'liud'
				? loadgen('--socket', $LSOCK, @common, @$liud_args, '--label', "$phase-liud")
				: loadgen('--socket', $RSOCK, '--proto', 'resp', @common, @$redis_args, '--label', "$phase-redis");
			my $cpu = cpu_secs($pid) - $c0;
			push @results, { phase => $phase, conns => $conns, depth => $depth, side => $side,
					 round => $round, rps => $r->{rps}, p50 => $r->{p50_us}, p99 => $r->{p99_us},
					 cpu => $r->{client_cpu_pct}, replies => $r->{replies},
					 srv_us => $r->{replies} ? $cpu * 1e6 / $r->{replies} : undef };
			if ($side eq 'liud') {
				my $s = proc_status($liud->{pid});
				$s->{after} = "$phase ${conns}x$depth";
				%liud_rss_load = %$s if ($s->{VmRSS} // 0) > $liud_rss_load{VmRSS};
			}
		}
	}
	my $m = summary($phase, $conns, $depth);
	note sprintf "%-6s c=%-2d d=%-2d  liud %7.0f/s p50 %7.0f us p99 %7.0f us cpu %5.0f us/op | " .
		"redis %7.0f/s p50 %7.0f us p99 %7.0f us cpu %5.0f us/op",
		$phase, $conns, $depth, map { $_ // 0 } @{$m}{qw(liud_rps liud_p50 liud_p99 liud_srv_us redis_rps redis_p50 redis_p99 redis_srv_us)};
}
sub summary {
	my ($phase, $conns, $depth) = @_;
	my %m;
	for my $side ('liud', 'redis') {
		my @r = grep { $_->{phase} eq $phase && $_->{conns} == $conns && $_->{depth} == $depth && $_->{side} eq $side } @results;
		for my $k (qw(rps p50 p99 srv_us)) { $m{"${side}_$k"} = median(map { $_->{$k} } @r) }
		$m{"${side}_cpu"} = median(map { $_->{cpu} } @r);
	}
	return \%m;
}

my $eval_req = '{"jsonrpc":"2.0","id":1,"method":"eval","params":{"id":"LIU-{{ID}}"}}';
my $evalsha = "EVALSHA\t$sha\t1\tapp:LIU-{{ID}}\tstored\t$CLOCK_EPOCH";
my @shapes = ([ 1, 1 ], [ 1, 16 ], [ 50, 1 ], [ 50, 16 ]);
for my $s (@shapes) {
	run_pair('eval', @$s, [ '--request', $eval_req ], [ '--request', $evalsha ]);
}
# Cold eval: the record sent with the call (what-if, a new or an amended
# record), nothing to remember: liud's `eval {record}` against the script
# decoding the same JSON with cjson.  Each request is another variant, and
# its service name carries the request's number.
{
	my (@l, @r);
	for my $a (@variant_apps) {
		my $x = $JSON->decode($JSON->encode($a));
		$x->{service_name} .= ' #{{SEQ}}';
		push @l, $JSON->encode({ jsonrpc => '2.0', id => 1, method => 'eval', params => { record => $x, at => $CLOCK } });
		push @r, join("\t", 'EVALSHA', $sha, 0, 'inline', $CLOCK_EPOCH, $JSON->encode($x));
	}
	write_file("$DIR/data/cold.tmpl", @l);
	write_file("$DIR/data/cold-redis.tmpl", @r);
	for my $s ([ 1, 1 ], [ 50, 1 ]) {
		run_pair('cold', @$s, [ '--template', "$DIR/data/cold.tmpl" ], [ '--template', "$DIR/data/cold-redis.tmpl" ]);
	}
}
$rss{redis_load} = proc_status($redis->{pid});

# liud alone: how eval's cost depends on its memo and on the records.
my %scaling;   # label -> {rps, p50, p99, srv_us, memo}
sub liud_only {
	my ($key, $label, @args) = @_;
	my $m0 = rpc($LSOCK, 'status')->{eval_memo};
	my $c0 = cpu_secs($liud->{pid});
	my $r = loadgen('--socket', $LSOCK, '--conns', 50, '--depth', 1, '--threads', 1, '--duration', $o{secs},
			'--warmup', $o{warmup}, '--id-fmt', '%06d', '--show-errors', 3, @args, '--label', $key);
	my $cpu = cpu_secs($liud->{pid}) - $c0;
	my $m1 = rpc($LSOCK, 'status')->{eval_memo};
	my ($h, $mi) = ($m1->{hits} - $m0->{hits}, $m1->{misses} - $m0->{misses});
	$scaling{$key} = { label => $label, rps => $r->{rps}, p50 => $r->{p50_us}, p99 => $r->{p99_us},
			   srv_us => $r->{replies} ? $cpu * 1e6 / $r->{replies} : undef,
			   hit_pct => $h + $mi ? 100 * $h / ($h + $mi) : 0, entries => $m1->{entries},
			   distinct => $m1->{distinct}, memo_mib => $m1->{bytes} / 1048576 };
	note scaling_line($scaling{$key});
}
sub scaling_line {
	my ($x) = @_;
	return sprintf "%-44s liud %7.0f/s p50 %6.0f us p99 %6.0f us cpu %5.0f us/op", @{$x}{qw(label rps p50 p99 srv_us)}
		if $x->{label} =~ /^amend/;
	return sprintf "%-44s liud %7.0f/s p50 %6.0f us p99 %6.0f us cpu %5.0f us/op; memo hits %.1f%%, %d entries (%d distinct, %.1f MiB)",
		@{$x}{qw(label rps p50 p99 srv_us hit_pct entries distinct memo_mib)};
}
my $m_eval = rpc($LSOCK, 'status')->{eval_memo};
note sprintf "eval memo after the rounds: %d hits, %d misses (%.1f%% hits), %d entries, %d distinct answers, %.1f MiB",
	$m_eval->{hits}, $m_eval->{misses}, 100 * $m_eval->{hits} / (($m_eval->{hits} + $m_eval->{misses}) || 1),
	$m_eval->{entries}, $m_eval->{distinct}, $m_eval->{bytes} / 1048576;
liud_only("ws1k", "eval, " . ($N < 1000 ? $N : 1000) . " of the $N apps", '--request', $eval_req, '--id-min', 1, '--id-max', ($N < 1000 ? $N : 1000));
liud_only('ws10k', "eval, all $N apps", '--request', $eval_req, '--id-min', 1, '--id-max', $N);
# Computed evals (last: they leave the memo holding other days): every
# request asks about another day (one of 60), so the memo almost never holds
# the answer.  This is what the first eval of a record on a day, or the
# first after a write to it, costs.
write_file("$DIR/data/eval-days.tmpl", map {
	sprintf '{"jsonrpc":"2.0","id":1,"method":"eval","params":{"id":"LIU-{{ID}}","at":"2024-%02d-%02dT12:00:00+09:00"}}', 6 + int($_ / 28), 1 + $_ % 28
} 0 .. 59);
liud_only('computed', "eval computed (memo misses), $N apps", '--template', "$DIR/data/eval-days.tmpl",
	  '--id-min', 1, '--id-max', $N);

my $amend = '{"jsonrpc":"2.0","id":1,"method":"act","params":{"action":"amend","id":"LIU-{{ID}}","params":{"planned_liu_application":"%s"}}}';
write_file("$DIR/data/amend.tmpl", map { sprintf $amend, $_ } '2024-11', '2024-12');
write_file("$DIR/data/hset-amend.tmpl", map { "HSET\tapp:LIU-{{ID}}\tplanned_liu_application\t$_" } '2024-11', '2024-12');
for my $s ([ 1, 1 ], [ 50, 1 ]) {
	run_pair('write', @$s, [ '--template', "$DIR/data/amend.tmpl" ], [ '--template', "$DIR/data/hset-amend.tmpl" ]);
}
# The same durable work on both sides: liud's amend against the script's
# (validate, bump the revision, write, an audit entry chained by hash), of
# the submitted applications and of the confirmed ones apart: a confirmed
# one's amend checks R1-R4 again, which reads the statement, on both sides.
# Each request amends the next record of its group, in turn.
my $amend_of = '{"jsonrpc":"2.0","id":1,"method":"act","params":{"action":"amend","id":"%s","params":{"planned_liu_application":"%s"}}}';
for my $g ([ 'amend_sub', sub { !confirmed_n($_[0]) }, [ 1, 1 ], [ 50, 1 ] ],
	   [ 'amend_conf', sub { confirmed_n($_[0]) }, [ 50, 1 ] ]) {
	my ($key, $pick, @s) = @$g;
	my @ids = grep { $pick->($_) } 1 .. $N;
	next unless @ids;
	my @month = map { $_ % 2 ? '2024-11' : '2024-12' } @ids;
	write_file("$DIR/data/$key.tmpl", map { sprintf $amend_of, sprintf('LIU-%06d', $ids[$_]), $month[$_] } 0 .. $#ids);
	write_file("$DIR/data/$key-redis.tmpl", map {
		join "\t", 'EVALSHA', $sha, 3, sprintf('app:LIU-%06d', $ids[$_]), 'audit', 'audit_head', 'amend',
			$CLOCK_EPOCH, 'planned_liu_application', $month[$_]
	} 0 .. $#ids);
	run_pair($key, @$_, [ '--template', "$DIR/data/$key.tmpl" ], [ '--template', "$DIR/data/$key-redis.tmpl" ]) for @s;
}
$rss{liud_load} = \%liud_rss_load;
$rss{liud_hwm} = proc_status($liud->{pid});
note sprintf "liud RSS under load: %s MiB (anon %s, file %s; largest after %s); peak VmHWM %s MiB; redis %s MiB",
	mib($liud_rss_load{VmRSS}), mib($liud_rss_load{RssAnon}), mib($liud_rss_load{RssFile}), $liud_rss_load{after} // '?',
	mib($rss{liud_hwm}{VmHWM}), mib($rss{redis_load}{VmRSS});

# ---------------------------------------------------------------- profile (optional)

my @profiles;
# perf on the running daemon, with DWARF call graphs (Debian's libraries have
# no frame pointers and no symbols of their own: time inside them is put on
# liud's functions that call them, in the inclusive report).
sub perf_start {
	my ($name, $secs) = @_;      # $secs: stop by itself after that long
	make_path("$DIR/profile");
	my $pid = fork // die "bench: fork: $!";
	if ($pid == 0) {
		open STDOUT, '>', '/dev/null';
		open STDERR, '>', "$DIR/profile/$name.perf.log";
		exec 'perf', 'record', '-F', 499, '--call-graph', 'dwarf,16384', '-o', "$DIR/profile/$name.data",
			'-p', $liud->{pid}, ($secs ? ('--', 'sleep', $secs) : ()) or exit 127;
	}
	sleep 0.3;
	return $pid;
}
sub perf_stop {
	my ($name, $pid) = @_;
	kill 'INT', $pid if waitpid($pid, WNOHANG) == 0;
	waitpid($pid, 0);
	my $data = "$DIR/profile/$name.data";
	my $rep = "perf report -i $data --stdio 2>/dev/null";
	system("$rep --no-children --sort dso -g none --percent-limit 0.5 > $DIR/profile/$name-dso.txt");
	system("$rep --no-children --sort dso,symbol -g none --percent-limit 0.7 > $DIR/profile/$name-flat.txt");
	system("$rep --children --sort symbol -g none --percent-limit 1 > $DIR/profile/$name-inclusive.txt");
	push @profiles, $name;
	note "profile: $name: $DIR/profile/$name-{dso,flat,inclusive}.txt";
}
if ($o{profile}) {
	for my $p ([ 'eval', [ '--request', $eval_req ] ], [ 'amend', [ '--template', "$DIR/data/amend.tmpl" ] ]) {
		my ($name, $args) = @$p;
		my $perf = perf_start($name);
		loadgen('--socket', $LSOCK, '--conns', 50, '--depth', 1, '--duration', $o{profile_secs},
			'--id-min', 1, '--id-max', $N, '--id-fmt', '%06d', @$args, '--label', "profile-$name");
		perf_stop($name, $perf);
	}
}

# ---------------------------------------------------------------- sweep

my (%sweep, %stage);
{
	my $more = $o{sweep} - $N;
	if ($more > 0) {
		$t = loadgen('--socket', $LSOCK, '--template', "$DIR/data/submit.tmpl", '--count', $more, '--seq-start', $N + 1,
			     '--conns', 1, '--depth', 128, '--seq-fmt', '%06d', '--show-errors', 3, '--drain', 120, '--label', 'load');
		note sprintf "liud: %d more applications submitted in %.1f s (%.0f/s)", $more, $t->{secs}, $t->{rps};
		my ($cl2) = confirm_lines($N + 1, $o{sweep});
		write_file("$DIR/data/confirm2.tmpl", @$cl2);
		$t = loadgen('--socket', $LSOCK, '--template', "$DIR/data/confirm2.tmpl", '--count', scalar(@$cl2),
			     '--conns', 1, '--depth', 64, '--show-errors', 3, '--drain', 120, '--label', 'confirm');
		note sprintf "liud: %d more confirmed in %.1f s", scalar(@$cl2), $t->{secs};
	}
	# eval with every record stored: first each record once, in order (the
	# memo fills: every one of these is computed), then at random.  The
	# memo's budget (storage.memo_mib) decides how many answers it holds.
	write_file("$DIR/data/eval-seq.tmpl", '{"jsonrpc":"2.0","id":1,"method":"eval","params":{"id":"LIU-{{SEQ}}"}}');
	my $f = loadgen('--socket', $LSOCK, '--template', "$DIR/data/eval-seq.tmpl", '--count', $o{sweep}, '--conns', 2,
			'--depth', 16, '--seq-fmt', '%06d', '--show-errors', 3, '--drain', 120, '--label', 'memo-fill');
	$scaling{fill} = { records => $o{sweep}, secs => $f->{secs}, rps => $f->{rps} };
	note sprintf "liud: eval of each of the %d applications once (computed, filling the memo): %.1f s (%.0f/s)",
		$o{sweep}, $f->{secs}, $f->{rps};
	liud_only('wsall', "eval, all $o{sweep} apps", '--request', $eval_req, '--id-min', 1, '--id-max', $o{sweep});
	my $before = rpc($LSOCK, 'status')->{records}{application};
	my $dl = rpc($LSOCK, 'deadlines')->{deadlines};
	note "sweep: " . join(', ', map { "$_=$before->{$_}" } sort keys %$before) . '; deadlines: ' .
		join(', ', map { "$_->{measure} at $_->{at} ($_->{records_affected} records)" } @$dl);
	# Staging: an hour before the deadline the daemon runs the hooks in idle
	# steps and keeps their outcomes (storage.stage_hours); the deadline then
	# only writes them.  Timed here, apart from the deadline.  Skipped when
	# the run turns staging off (--storage 'stage_hours = 0').
	my $staging_off = grep { /^\s*stage_hours\s*=\s*0\s*$/ } @{ $o{storage} // [] };
	note "staging: off (stage_hours = 0): the deadline runs every hook itself" if $staging_off;
	unless ($staging_off) {
		my $affected = 0;
		$affected = $_->{measure} eq 'special-measure' ? $_->{records_affected} : $affected for @$dl;
		my $c0s = cpu_secs($liud->{pid});
		my $t0s = time;
		rpc($LSOCK, 'clock.set', { now => $STAGE_FROM });
		my $st;
		while (time - $t0s < 1800) {
			$st = rpc($LSOCK, 'status')->{staging};
			last if $st->{done} && $st->{records_ready} >= $affected;
			sleep 0.2;
		}
		die "bench: staging did not finish: " . $JSON->encode($st) . "\n" unless $st->{done} && $st->{records_ready} >= $affected;
		%stage = (secs => time - $t0s, cpu_s => cpu_secs($liud->{pid}) - $c0s, records => $st->{records_ready},
			  failures => $st->{hook_failures});
		note sprintf "staging (the hour before the deadline): %d records in %.1f s (liud CPU %.1f s), %d hook failures",
			@stage{qw(records secs cpu_s failures)};
	}
	my $log_from = -s "$DIR/liud.log";
	my $set = '{"jsonrpc":"2.0","id":1,"method":"clock.set","params":{"now":"' . $DEADLINE . '"}}';
	my $enf = '{"jsonrpc":"2.0","id":2,"method":"enforce","params":{}}';
	write_file("$DIR/data/read.tmpl",
		'{"jsonrpc":"2.0","id":1,"method":"record.get","params":{"id":"LIU-{{ID}}"}}',
		'{"jsonrpc":"2.0","id":1,"method":"eval","params":{"id":"LIU-{{ID}}"}}');
	my $perf = $o{profile} ? perf_start('sweep', $o{profile_secs}) : undef;   # the start of the sweep
	my $c0 = cpu_secs($liud->{pid});
	my $r = loadgen('--socket', $LSOCK, '--template', "$DIR/data/read.tmpl", '--conns', $o{readers},
			'--depth', 1, '--warmup', ($o{smoke} ? 0.5 : 2), '--during', $set, '--during', $enf,
			'--id-min', 1, '--id-max', $o{sweep}, '--id-fmt', '%06d', '--drain', 120, '--label', 'sweep');
	my $sweep_cpu = cpu_secs($liud->{pid}) - $c0;
	perf_stop('sweep', $perf) if $perf;
	my ($enf_reply) = $r->{_err} =~ /control reply 2: (.*)/;
	die "bench: enforce did not succeed: $enf_reply\n" unless $enf_reply && $enf_reply =~ /"result"/;
	my $after = rpc($LSOCK, 'status')->{records}{application};
	my $left = rpc($LSOCK, 'deadlines')->{deadlines};
	die "bench: deadlines still pending after enforce\n" if grep { $_->{due} } @$left;
	my $want_lapsed = $before->{submitted} // 0;
	die "bench: after the sweep: " . join(',', %$after) . "\n"
		if ($after->{lapsed} // 0) != $want_lapsed || ($after->{ended} // 0) != ($before->{confirmed} // 0);
	open my $lf, '<', "$DIR/liud.log" or die;
	seek $lf, $log_from, 0;
	my ($changed, $sched_ms) = (0, 0);
	while (<$lf>) {
		if (/sched: enforced measure=(\S+) .*records_changed=(\d+) ms=(\d+)/) { $changed += $2; $sched_ms += $3 }
	}
	%sweep = (records => $o{sweep}, secs => ($r->{during1_ms} + $r->{during2_ms}) / 1000, changed => $changed,
		  sched_ms => $sched_ms, reads => $r->{ops}, read_rps => $r->{rps}, read_p50 => $r->{p50_us},
		  read_p99 => $r->{p99_us}, read_max => $r->{max_us}, before_p50 => $r->{before_p50_us},
		  before_p99 => $r->{before_p99_us}, cpu_s => $sweep_cpu);
	note sprintf "sweep: %d records at one deadline: %.2f s (%d changes, sched says %d ms, liud CPU %.1f s incl. reads); " .
		"reads meanwhile: %d, p50 %.0f us, p99 %.0f us, max %.0f us (before: p50 %.0f us, p99 %.0f us)",
		$o{sweep}, $sweep{secs}, $changed, $sched_ms, $sweep_cpu,
		@sweep{qw(reads read_p50 read_p99 read_max before_p50 before_p99)};
	# Start-up of the real pack with the sweep's records.
	stop_daemon($liud);
	my @s;
	for (1 .. $o{startup_runs}) {
		$liud = spawn(name => 'liud', sock => $LSOCK, proto => 'liud', log => "$DIR/liud.log", cmd => \@liud_cmd);
		push @s, $liud->{startup_ms};
		stop_daemon($liud);
	}
	$sweep{startup_ms} = median(@s);
	$sweep{db_mib} = `du -sm $DIR/db` =~ s/\s.*//sr;
	note "liud (rules/ismap-liu) restarted with $o{sweep} applications: " . join(', ', @s) . " ms";
}
stop_daemon($redis);

# ---------------------------------------------------------------- start-up with many records

my %startup;
{
	my $sock = "$DIR/mini.sock";
	my @cmd = ($LIUD, '-c', $conf, '--socket', $sock, '--db', "$DIR/db-startup", '--rules', $MINI,
		   '--test-clock', $CLOCK);
	my $m = spawn(name => 'liud-mini', sock => $sock, proto => 'liud', log => "$DIR/liud-startup.log", cmd => \@cmd);
	my $create = '{"jsonrpc":"2.0","id":1,"method":"act","params":{"action":"create","params":{"text":"会議メモ {{SEQ}}: 議題と決定事項 (minutes of meeting {{SEQ}})"}}}';
	$t = loadgen('--socket', $sock, '--request', $create, '--count', $o{startup}, '--conns', 50, '--depth', 32,
		     '--threads', 2, '--show-errors', 3, '--drain', 120, '--label', 'load');
	$startup{load_rps} = $t->{rps};
	my $n = rpc($sock, 'status')->{records}{note}{open} // 0;
	die "bench: the start-up database holds $n notes, not $o{startup}\n" unless $n == $o{startup};
	my $du = `du -sm $DIR/db-startup` =~ s/\s.*//sr;
	note sprintf "start-up database: %d records (tests/packs/mini) created in %.1f s (%.0f/s, 50 connections), %s MiB on disk",
		$o{startup}, $t->{secs}, $t->{rps}, $du;
	$startup{disk_mib} = $du;
	stop_daemon($m);
	my @s;
	for (1 .. $o{startup_runs}) {
		$m = spawn(name => 'liud-mini', sock => $sock, proto => 'liud', log => "$DIR/liud-startup.log", cmd => \@cmd,
			   ready => '{"jsonrpc":"2.0","id":1,"method":"record.get","params":{"id":"N-000001"}}');
		push @s, $m->{startup_ms};
		sleep 0.2;
		$startup{rss} = proc_status($m->{pid});
		stop_daemon($m);
	}
	$startup{ms} = median(@s);
	$startup{runs} = \@s;
	note "liud (tests/packs/mini) restarted with $o{startup} records: " . join(', ', @s) . " ms; idle RSS " .
		mib($startup{rss}{VmRSS}) . " MiB";
}

@calib{qw(fsync_end_p50 fsync_end_p99)} = fsync_us(200);
note sprintf "calibration at the end: append+fsync p50 %.0f us, p99 %.0f us", @calib{qw(fsync_end_p50 fsync_end_p99)};

# ---------------------------------------------------------------- the table

my @rows;
sub ratio { my ($a, $b) = @_; return defined $a && defined $b && $b > 0 ? $a / $b : undef }
sub fmt { my ($v, $f) = @_; defined $v ? sprintf($f, $v) : '-' }
my $out = '';
$out .= sprintf "\nliud vs Redis — %s; %d CPU (%s), %d MiB RAM; medians of %d round(s) of %.1f s\n",
	scalar(localtime), $nproc, $cpu, $mem_mib, $o{rounds}, $o{secs};
$out .= sprintf "liud %s (commit %s, pack ismap-liu %s), redis-server %s (appendonly yes, appendfsync always)\n",
	$liud_version, $COMMIT, $PACK_VERSION, $redis_version;
$out .= sprintf "%-26s %8s %8s %8s %7s | %8s %8s %8s %7s | %6s %6s\n", 'phase (clients x depth)', 'liud/s', 'p50 us',
	'p99 us', 'cpu us', 'redis/s', 'p50 us', 'p99 us', 'cpu us', 'tput x', 'p99 x';
$out .= ('-' x 118) . "\n";
my %m;
my %LABEL = (eval => 'eval / EVALSHA', cold => 'cold eval / script', write => 'amend / HSET fsync',
	     amend_sub => 'amend sub. / script', amend_conf => 'amend conf. / script');
for my $p ([ 'eval', @shapes ], [ 'cold', [ 1, 1 ], [ 50, 1 ] ], [ 'write', [ 1, 1 ], [ 50, 1 ] ],
	   [ 'amend_sub', [ 1, 1 ], [ 50, 1 ] ], [ 'amend_conf', [ 50, 1 ] ]) {
	my ($phase, @s) = @$p;
	for my $s (@s) {
		my $x = summary($phase, @$s);
		$m{"$phase-$s->[0]-$s->[1]"} = $x;
		my $label = $LABEL{$phase};
		$out .= sprintf "%-26s %8s %8s %8s %7s | %8s %8s %8s %7s | %6s %6s\n", "$label ($s->[0]x$s->[1])",
			fmt($x->{liud_rps}, '%.0f'), fmt($x->{liud_p50}, '%.0f'), fmt($x->{liud_p99}, '%.0f'), fmt($x->{liud_srv_us}, '%.0f'),
			fmt($x->{redis_rps}, '%.0f'), fmt($x->{redis_p50}, '%.0f'), fmt($x->{redis_p99}, '%.0f'), fmt($x->{redis_srv_us}, '%.0f'),
			fmt(ratio($x->{liud_rps}, $x->{redis_rps}), '%.2f'), fmt(ratio($x->{redis_p99}, $x->{liud_p99}), '%.2f');
	}
}
$out .= ('-' x 118) . "\n";
$out .= "cpu us: CPU time of the server process (all threads) per request, median of the rounds\n";
$out .= sprintf "%-40s %s\n", 'load: submit (liud, 1 conn) / HSET', sprintf('%.0f/s / %.0f/s', $load{liud_submit_rps}, $load{redis_hset_rps});
$out .= sprintf "%-40s %.2f s for %d records (%d changes; sched %d ms; liud CPU %.1f s)\n", 'enforcement at one deadline',
	$sweep{secs}, $sweep{records}, $sweep{changed}, $sweep{sched_ms}, $sweep{cpu_s};
$out .= sprintf "%-40s %d reads, p50 %.0f us, p99 %.0f us, max %.0f us (before: p99 %.0f us)\n",
	"  reads meanwhile ($o{readers} clients)", @sweep{qw(reads read_p50 read_p99 read_max before_p99)};
$out .= sprintf "%-40s %d records in %.1f s (liud CPU %.1f s) in the hour before the deadline\n",
	'  staged beforehand', @stage{qw(records secs cpu_s)} if %stage;
$out .= sprintf "%-40s %s ms (median of %s; tests/packs/mini; %s MiB on disk)\n",
	"start-up, $o{startup} records", fmt($startup{ms}, '%.1f'), join('/', @{ $startup{runs} }), $startup{disk_mib};
$out .= sprintf "%-40s %s ms with %d, %s ms with %d applications\n", 'start-up, rules/ismap-liu',
	$startup_apps_ms, $N, fmt($sweep{startup_ms}, '%.1f'), $o{sweep};
$out .= sprintf "%-40s idle %s MiB (anon %s, file %s); under load %s MiB (anon %s, file %s), peak %s MiB\n",
	'liud RSS (ismap-liu, ' . $N . ' apps)',
	mib($rss{liud_idle}{VmRSS}), mib($rss{liud_idle}{RssAnon}), mib($rss{liud_idle}{RssFile}),
	mib($rss{liud_load}{VmRSS}), mib($rss{liud_load}{RssAnon}), mib($rss{liud_load}{RssFile}), mib($rss{liud_hwm}{VmHWM});
$out .= sprintf "%-40s idle %s MiB\n", "liud RSS (mini, $o{startup} records)", mib($startup{rss}{VmRSS});
$out .= sprintf "%-40s idle %s MiB, after the eval rounds %s MiB\n", 'redis-server RSS', mib($rss{redis_idle}{VmRSS}),
	mib($rss{redis_load}{VmRSS});
for my $k (qw(computed ws1k ws10k wsall amend_sub amend_conf)) {
	my $x = $scaling{$k} or next;
	my $line = scaling_line({ %$x, label => $x->{label} . ' (50x1)' });
	$line =~ s/ liud / /;
	$out .= "$line\n";
}
$out .= sprintf "%-40s %s%% (eval 50x1), %s%% (eval 50x16) of one CPU\n", 'load generator CPU (liud runs)',
	$m{'eval-50-1'}{liud_cpu} // '-', $m{'eval-50-16'}{liud_cpu} // '-';

# The eval ratios hold for both pipeline depths: the lower of the two.
sub lower { my @v = grep { defined } @_; return @v ? (sort { $a <=> $b } @v)[0] : undef }
my ($e, $e16) = @m{'eval-50-1', 'eval-50-16'};
my $w = $m{'write-50-1'};
sub tput_ratio { my $x = $m{ $_[0] }; fmt($x && ratio($x->{liud_rps}, $x->{redis_rps}), '%.2f') }
my $line = sprintf 'bench: eval_ratio=%s eval_p99_ratio=%s cold_ratio=%s cold1_ratio=%s same_write_ratio=%s ' .
	'same_write1_ratio=%s same_write_confirmed_ratio=%s write_ratio=%s sweep_s=%s startup_ms=%s rss_idle_mib=%s',
	fmt(lower(ratio($e->{liud_rps}, $e->{redis_rps}), ratio($e16->{liud_rps}, $e16->{redis_rps})), '%.2f'),
	fmt(lower(ratio($e->{redis_p99}, $e->{liud_p99}), ratio($e16->{redis_p99}, $e16->{liud_p99})), '%.2f'),
	tput_ratio('cold-50-1'), tput_ratio('cold-1-1'), tput_ratio('amend_sub-50-1'), tput_ratio('amend_sub-1-1'),
	tput_ratio('amend_conf-50-1'),
	fmt(ratio($w->{liud_rps}, $w->{redis_rps}), '%.2f'), fmt($sweep{secs}, '%.2f'), fmt($startup{ms}, '%.1f'),
	mib($rss{liud_idle}{VmRSS});
$out .= sprintf "%-40s p50 %.0f us, p99 %.0f us at the start; p50 %.0f us, p99 %.0f us at the end\n",
	'calibration: append+fsync (200 B)', @calib{qw(fsync_p50 fsync_p99 fsync_end_p50 fsync_end_p99)};
$out .= sprintf "%-40s %.0f/s, p50 %.1f us, p99 %.1f us\n", 'calibration: Redis PING, 1 client',
	@calib{qw(ping_rps ping_p50 ping_p99)};
$out .= sprintf "%-40s %s at the start, %s at the end (other work on the machine skews every figure)\n",
	'load average (1 min)', $load_start, loadavg();
$out .= "\nratios: liud ÷ Redis throughput and Redis ÷ liud p99 at 50 clients (higher is better for liud); eval: the lower of depth 1 and 16\n";
$out .= sprintf "bench took %.0f s; records, logs, profiles and raw results in %s\n", time - $T_START, $DIR;
print $out;
open my $rf, '>:encoding(UTF-8)', "$DIR/results.txt" or die;
print $rf $out, $line, "\n";
open my $jf, '>', "$DIR/results.json" or die;
print $jf JSON::PP->new->canonical->pretty->encode({ rounds => \@results, calibration => \%calib, sweep => \%sweep, startup => \%startup,
	scaling => \%scaling, eval_memo => $m_eval, stage => \%stage,
	rss => \%rss, load => \%load, options => \%o, machine => { nproc => $nproc, cpu => $cpu, mem_mib => $mem_mib,
	kernel => $kernel, redis => $redis_version, liud => $liud_version, commit => $COMMIT, pack => $PACK_VERSION } });
close $jf;
close $rf;
remove_tree("$DIR/db", "$DIR/db-startup", "$DIR/redis") unless $o{keep};
print "$line\n";
