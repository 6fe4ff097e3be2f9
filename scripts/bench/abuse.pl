#!/usr/bin/perl
# abuse.pl — `make bench-abuse`: what the abuses of the containment work
# (docs/RELIABILITY.md) cost a well-behaved client, measured, not asserted.
#
#   perl scripts/bench/abuse.pl [--quick] [--smoke] [--bin DIR] [--dir DIR] [--only LIST]
#        [--idle S] [--verbose] [--keep] [--perf]
#
# One daemon (a copy of tests/packs/slice, 20,000 records seeded by import)
# and one well-behaved client: a single connection as root that sends, every
# 10 ms, a `status` and then an `eval` of a stored record, each timed from
# its write to its reply line.  Meanwhile each abuse runs in turn, for a few
# seconds or until it is done:
#   1a  rules.check of a pack whose tests run for ever (ended by rule_budget.check_s)
#   1b  rules.check of a pack with 10 slow tests (each ended by the per-call budget)
#   2   rules.check of a pack whose message handler loops after a budget kill
#   3a  rules.reload of a pack holding a 15 MiB file (under the 16 MiB cap)
#   3b  rules.reload of a pack holding a 17 MiB file (over it)
#   4a  20 views over every record by an agency user who hangs up at once
#   4b  a view whose rows are 256 KiB (ended by limits.reply_mib), read to its end
#   5   one import of 100,000 rows
#   6   a user with no role opens 1,000 connections and trickles bytes on those it gets
#   7a  a user with no role sends 20,000 forbidden calls, pipelined
#   7b  a user with no role connects 3,000 times past its connections_per_uid
# For each: the client's requests, p50, p99 and max in ms, how long the abuse
# ran, whether the target (p99 <= 50 ms, max <= 250 ms) is met, the daemon's
# CPU seconds, and what the abuser got back.  A miss also prints when the
# slowest request was written and what the daemon logged meanwhile (and,
# with --perf, its hottest functions).  The last line:
#   bench-abuse: worst_p99_ms=… worst_max_ms=… met=yes|no
# The exit status is 0 whatever the figures: a benchmark reports, it does not
# gate.  Only a failure of the harness itself (no daemon, a tool that cannot
# run, a daemon that died) exits non-zero.
#
# --quick divides the sizes by 10 (under a minute); --smoke is smaller still,
# for tests/80-bench-smoke.t (it checks the harness, not the figures).
# 6, 7 and the agency user of 4a need root (setpriv / setuid to uids that
# exist nowhere but in the daemon's roles); otherwise they are skipped.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../../tests/lib";
use Getopt::Long;
use IO::Socket::UNIX;
use IO::Select;
use IO::Handle;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use File::Path qw(make_path remove_tree);
use Cwd qw(getcwd);

binmode STDOUT, ':encoding(UTF-8)';
$| = 1;
# An abuser that dies early must not take the harness with it.
$SIG{PIPE} = 'IGNORE';

my %o = (bin => 'bin', dir => ($ENV{BENCH_ABUSE_DIR} || '/var/tmp/liud-bench-abuse'));
GetOptions(\%o, 'quick', 'smoke', 'bin=s', 'dir=s', 'only=s', 'idle=f', 'verbose', 'keep', 'perf')
	or die "usage: see the head of $0\n";

# Sizes: the full run, --quick (÷10) and --smoke (a harness check).
my %Z = (records => 20000, import => 100000, big_mib => 15, over_mib => 17, slow_tests => 10, spin_test => 80000000,
	 check_s => 60, views => 20, spin => 10000, hold => 1000, trickle_s => 12,
	 forbidden => 20000, refused => 3000, idle => 3, settle_max => 15, settle_s => 0.3, reply_mib => 64);
%Z = (%Z, records => 2000, import => 10000, big_mib => 1.5, spin_test => 8000000, check_s => 6, hold => 100,
      trickle_s => 2, forbidden => 2000, refused => 300, idle => 1.5) if $o{quick};
%Z = (%Z, records => 300, import => 1000, big_mib => 0.5, slow_tests => 2, spin_test => 2000000, check_s => 1, views => 4, spin => 1000,
      hold => 20, trickle_s => 0.5, forbidden => 200, refused => 40, idle => 0.5, settle_max => 5,
      settle_s => 0.1, reply_mib => 4)
	if $o{smoke};
$Z{idle} = $o{idle} if defined $o{idle};
my $PERIOD = 0.010;            # the well-behaved client's pace
my %TARGET = (p99 => 50, max => 250);
my $AGENCY_UID = 64001;        # a uid given the agency role, of no user of the machine
my $NOBODY_UID = 65534;        # nobody: no role
my $ROOTED = $> == 0;

my $ROOT = getcwd();
sub setpriv { my $uid = shift; return ('setpriv', "--reuid=$uid", "--regid=$uid", '--clear-groups', @_) }
sub abs_path_of { my $p = shift; $p =~ m{^/} ? $p : "$ROOT/$p" }
my $DIR = abs_path_of($o{dir});
die "bench-abuse: --dir must be a folder of its own (it is emptied first)\n" if $DIR =~ m{^/*$} || $DIR eq $ROOT;
-x abs_path_of("$o{bin}/liud") or die "bench-abuse: no daemon at $o{bin}/liud (make bench-abuse builds it)\n";

# The run works on its own copies of the daemon, the pack and the hostile
# clients: a rebuild or an edit in the checkout meanwhile changes nothing,
# and the copies are readable by the users the abuses run as.
remove_tree($DIR);
make_path("$DIR/bin", "$DIR/packs", "$DIR/tools", "$DIR/daemon");
system('cp', abs_path_of("$o{bin}/liud"), "$DIR/bin/") == 0
	and system('cp', '-r', "$ROOT/tests/packs/slice", "$DIR/packs/") == 0
	and system('cp', map({ "$ROOT/tests/tools/$_" } qw(hold.pl flood.pl)), "$DIR/tools/") == 0
	or die "bench-abuse: cannot copy the daemon, the pack and the tools into $DIR\n";
chmod 0755, $DIR, "$DIR/tools", "$DIR/daemon", glob("$DIR/tools/*");
$ENV{LIUD_BIN} = "$DIR/bin";
if ($> == 0 && system(setpriv($NOBODY_UID, 'test', '-r', "$DIR/tools/hold.pl")) != 0) {
	die "bench-abuse: the abusers (uid $NOBODY_UID) cannot reach $DIR/tools: give --dir a folder every user can " .
	    "traverse (/var/tmp/... by default)\n";
}
require Liud;
my $J = Liud::json();
my $T0 = time;
sub note { printf "[%6.1fs] %s\n", time - $T0, join('', @_) }

# ---------------------------------------------------------------- the daemon

open my $cf, '>', "$DIR/liud.conf" or die "bench-abuse: $DIR/liud.conf: $!\n";
print $cf <<"CONF";
-- bench-abuse: the defaults but for these.
socket_mode = "0666"              -- the abusers are other users
roles = { admin = { users = { "root" } }, agency = { users = { "$AGENCY_UID" } } }
limits = { request_bytes = 16777216,   -- room for the import of abuse 5 in one request
           reply_mib = $Z{reply_mib} }     -- 64 by default (4 in a --smoke run)
rule_budget = { check_s = $Z{check_s} }  -- a whole check (60 by default; less in --quick and --smoke runs)
CONF
close $cf;
my $d = Liud::start_daemon(dir => "$DIR/daemon", rules => "$DIR/packs/slice", conf => "$DIR/liud.conf",
			   clock => '2024-06-01T10:00:00+09:00');
$d->{pid} or die "bench-abuse: the daemon did not start:\n" . $d->log_text;
my $probe_pid;
sub cleanup { kill 'TERM', $probe_pid if $probe_pid; $probe_pid = undef; $d->stop if $d && $d->{pid} }
$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 130 };
END { cleanup() }

sub die_harness { my $m = shift; die "bench-abuse: $m\n" . ($d->alive ? '' : "the daemon is gone; its log ends:\n" .
	join("\n", grep { defined } (split /\n/, $d->log_text)[-15 .. -1])) . "\n" }

# The daemon's CPU seconds so far (every thread).
my $TCK = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
sub cpu_s {
	open my $f, '<', "/proc/$d->{pid}/stat" or return 0;
	my @f = split ' ', (<$f> =~ s/^.*\) //r);
	return ($f[11] + $f[12]) / $TCK;
}

# Waits until the daemon is idle (the probe's own requests aside): less than
# a fifth of a CPU over settle_s, at most settle_max seconds.
sub settle {
	my $t = time;
	while (time - $t < $Z{settle_max}) {
		my $c = cpu_s();
		sleep $Z{settle_s};
		return if cpu_s() - $c < $Z{settle_s} / 5;
	}
	note "the daemon was still busy after $Z{settle_max} s";
}

sub seed {
	my ($n, $from) = @_;
	for (my $i = 0; $i < $n; $i += 5000) {
		my $k = $n - $i < 5000 ? $n - $i : 5000;
		my $r = $d->call('import', { action => 'create',
					     rows => [ map { { n => $_, text => "item $_" } } $from + $i + 1 .. $from + $i + $k ] });
		die_harness('seeding failed: ' . $J->encode($r->{error})) if $r->{error};
	}
}
my $t = time;
seed($Z{records}, 0);
note sprintf "daemon up (pack slice, defaults but for %s), %d records seeded in %.1f s", "$DIR/liud.conf",
	$Z{records}, time - $t;
my $EVAL_ID = 'I-000001';
{
	# What one view of 4a costs alone (it is sliced, so this is not a stall).
	my $t = time;
	my $r = $d->call('view', { name => 'slow', params => { spin => $Z{spin} } });
	die_harness('the view of 4a failed: ' . $J->encode($r->{error})) if $r->{error};
	note sprintf "one view of 4a (slow, spin %d) over the %d records: %.2f s alone", $Z{spin}, $r->{result}{count},
		time - $t;
}

# ---------------------------------------------------------------- the well-behaved client

# A child process: one connection as root; every PERIOD a status then an
# eval, each written and its reply line awaited; one line per request in
# probe.log: "<time written> <latency ms> <method> <ok|error|timeout>".
my $PROBE_LOG = "$DIR/probe.log";
sub probe {
	open my $log, '>', $PROBE_LOG or die "bench-abuse: $PROBE_LOG: $!\n";
	$log->autoflush(1);
	my $stop = 0;
	$SIG{TERM} = sub { $stop = 1 };
	my ($s, $buf, $id) = (undef, '', 0);
	my $next = time;
	my $parent = getppid();
	while (!$stop && getppid() == $parent) {
		$s //= IO::Socket::UNIX->new(Peer => $d->{sock}, Type => SOCK_STREAM) or POSIX::_exit(2);
		for my $m (['status', ''], ['eval', qq(,"params":{"id":"$EVAL_ID"})]) {
			$id++;
			my $t0 = time;
			syswrite($s, qq({"jsonrpc":"2.0","id":$id,"method":"$m->[0]"$m->[1]}\n)) or POSIX::_exit(3);
			my $sel = IO::Select->new($s);
			while ($buf !~ /\n/) {
				# a reply 30 s late is recorded as such; the connection is renewed
				last unless $sel->can_read(30) || $stop;
				POSIX::_exit(0) if $stop && !$sel->can_read(0);
				sysread($s, $buf, 65536, length $buf) or POSIX::_exit(4);
			}
			my $t1 = time;
			my $state = 'timeout';
			if ($buf =~ s/^([^\n]*)\n//) {
				my $line = $1;
				$state = $line =~ /^\{"jsonrpc":"2.0","id":$id,"result":/ ? 'ok' : 'error';
				print $log "# $line\n" if $state eq 'error';
			}
			printf $log "%.6f %.3f %s %s\n", $t0, ($t1 - $t0) * 1000, $m->[0], $state;
			if ($state eq 'timeout') { close $s; ($s, $buf) = (undef, ''); last }
		}
		$next += $PERIOD;
		my $now = time;
		if ($next > $now) { sleep($next - $now) } else { $next = $now }
	}
	POSIX::_exit(0);
}
$probe_pid = fork // die "bench-abuse: fork: $!\n";
if ($probe_pid == 0) { $SIG{INT} = 'DEFAULT'; probe() }

# The probe's samples written within [from, to): latencies in ms, errors,
# timeouts.
sub samples {
	my ($from, $to) = @_;
	my ($err, $tmo, $slowest, @lat) = (0, 0, [0, 0]);
	open my $f, '<', $PROBE_LOG or die_harness("no $PROBE_LOG");
	while (<$f>) {
		next unless /^([\d.]+) (\S+) \S+ (\S+)$/;
		next if $1 < $from || $1 >= $to;
		push @lat, $2;
		$slowest = [$1, $2] if $2 > $slowest->[1];
		$err++ if $3 eq 'error';
		$tmo++ if $3 eq 'timeout';
	}
	return ([ sort { $a <=> $b } @lat ], $err, $tmo, $slowest);
}
# Waits until the probe has written a request sent at `t` or later, so that
# every request of a window is in its log, however late its reply.
sub wait_probe_past {
	my ($t) = @_;
	while (time - $t < 40) {
		my $last = `tail -n 1 $PROBE_LOG` // '';
		return if $last =~ /^([\d.]+) / && $1 >= $t;
		sleep 0.02;
	}
	die_harness('the well-behaved client has written nothing for 40 s');
}
sub pct { my ($v, $p) = @_; return @$v ? $v->[int($p * $#$v + 0.5)] : undef }

# ---------------------------------------------------------------- abuse helpers

# A copy of the live pack; `main` appended to main.lua, `tests` a file of
# pack tests (the pack's own are dropped then), `bytes` a data file.
my $npack = 0;
sub pack_with {
	my (%a) = @_;
	my $p = "$DIR/packs/p" . ++$npack;
	system('cp', '-r', "$DIR/packs/slice", $p) == 0 or die_harness("cannot copy the pack to $p");
	if (defined $a{main}) { open my $f, '>>', "$p/main.lua" or die; print $f "\n$a{main}\n"; close $f }
	if (defined $a{tests}) {
		remove_tree("$p/tests");
		mkdir "$p/tests";
		open my $f, '>', "$p/tests/abuse.lua" or die;
		print $f $a{tests};
		close $f;
	}
	if ($a{bytes}) {
		mkdir "$p/data";
		open my $f, '>', "$p/data/big.txt" or die;
		my $line = ('0123456789abcdef' x 4) . "\n";
		print $f $line x int($a{bytes} / length $line);
		close $f;
	}
	return $p;
}

sub send_line {
	my ($line) = @_;
	my $s = IO::Socket::UNIX->new(Peer => $d->{sock}, Type => SOCK_STREAM) or die_harness("connect: $!");
	print $s $line;
	$s->flush;
	return $s;
}
sub request_line {
	my ($method, $params, $id) = @_;
	return $J->encode({ jsonrpc => '2.0', id => $id // 1, method => $method, params => $params // {} }) . "\n";
}

# One request; waits for its reply line (at most `limit` s); returns a short
# account of the reply.
sub call_and_wait {
	my ($line, $limit) = @_;
	my $s = send_line($line);
	my ($sel, $buf, $t0) = (IO::Select->new($s), '', time);
	while ($buf !~ /\n/ && time - $t0 < $limit) {
		last unless $sel->can_read($limit - (time - $t0));
		last unless sysread($s, $buf, 1 << 20, length $buf);
	}
	close $s;
	return 'no reply within ' . $limit . ' s' unless $buf =~ /^([^\n]*)\n/;
	my $r = eval { $J->decode($1) } // { error => { message => 'unreadable reply' } };
	return describe($r);
}
sub describe {
	my ($r) = @_;
	if (my $e = $r->{error}) {
		my $m = ($e->{message} // '') =~ s/\s+/ /gr;
		$m = substr($m, 0, 90) . '…' if length $m > 90;
		return "$e->{code} $m";
	}
	my $res = $r->{result} // {};
	return "created $res->{created} of $res->{rows} rows" if defined $res->{created};
	return "passed, $res->{tests} tests" if $res->{ok} && defined $res->{tests};
	return "activated " . substr($res->{version}, 0, 12) if $res->{version} && $res->{how};
	return 'ok';
}

# A child as another user (uid = gid, no groups); runs `code`, returns its pid.
sub as_user {
	my ($uid, $code) = @_;
	my $pid = fork // die_harness("fork: $!");
	return $pid if $pid;
	$SIG{INT} = $SIG{TERM} = 'DEFAULT';
	POSIX::setgid($uid);
	$) = "$uid $uid";
	POSIX::setuid($uid) or POSIX::_exit(9);
	$code->();
	POSIX::_exit(0);
}
sub run_capture {
	my (@cmd) = @_;
	open my $p, '-|', @cmd or die_harness("cannot run $cmd[0]: $!");
	my $out = do { local $/; <$p> } // '';
	close $p;
	return $out;
}

# ---------------------------------------------------------------- the abuses

# Each: [key, label, needs root, prepare (outside the window) -> state,
# run (the window) -> what the abuser got].
# A pack test runs under 20 times the per-call budget (rules.c), and a check
# under rule_budget.check_s in all: the test that runs for ever is ended by
# one or the other; the slow tests pass, each a loop of `spin_test` turns.
my $forever_tests = qq(case "for ever" { summary = function () while true do end end }\n);
my $slow_tests = join '', map { qq(case "slow $_" { summary = function () local s = 0 for i = 1, $Z{spin_test} do s = s + i end return s > 0 end }\n) } 1 .. $Z{slow_tests};
my @abuses = (
	['1a', 'check: a test that runs for ever', 0,
	 sub { pack_with(tests => $forever_tests) },
	 sub { call_and_wait(request_line('rules.check', { path => $_[0] }), $Z{check_s} + 60) }],
	['1b', "check: $Z{slow_tests} slow tests", 0,
	 sub { pack_with(tests => $slow_tests) },
	 sub { call_and_wait(request_line('rules.check', { path => $_[0] }), 300) }],
	['2', 'check: handler loops after a kill', 0,
	 sub { pack_with(main => 'xpcall(function () while true do end end, function () while true do end end)') },
	 sub { call_and_wait(request_line('rules.check', { path => $_[0] }), 120) }],
	['3a', "reload: a $Z{big_mib} MiB file", 0,
	 sub { pack_with(bytes => $Z{big_mib} * 1048576) },
	 sub { call_and_wait(request_line('rules.reload', { path => $_[0] }), 300) }],
	['3b', "reload: a $Z{over_mib} MiB file", 0,
	 sub { pack_with(bytes => $Z{over_mib} * 1048576) },
	 sub { call_and_wait(request_line('rules.reload', { path => $_[0] }), 300) }],
	['4a', "$Z{views} views, client hangs up", 0,
	 sub { join '', map { request_line('view', { name => 'slow', params => { spin => $Z{spin} } }, $_) } 1 .. $Z{views} },
	 \&views_hang_up],
	['4b', 'view of 256 KiB rows (reply cap)', 0,
	 sub { request_line('view', { name => 'big' }) },
	 \&read_to_end],
	['5', "import of $Z{import} rows", 0,
	 sub { request_line('import', { action => 'create',
					rows => [ map { { n => $_, text => "row $_" } } 1 .. $Z{import} ] }) },
	 sub { call_and_wait($_[0], 600) }],
	['6', "no role: $Z{hold} conns, trickling", 1, sub { undef }, \&hold_and_trickle],
	['7a', "no role: $Z{forbidden} forbidden calls", 1, sub { undef }, \&forbidden_flood],
	['7b', "no role: $Z{refused} refused conns", 1, sub { undef }, \&refused_flood],
);

# 4a: the views are written by the agency uid, which hangs up at once; the
# window lasts until the daemon is idle again.
sub views_hang_up {
	my ($lines) = @_;
	my $pid = as_user($ROOTED ? $AGENCY_UID : $>, sub {
		my $s = IO::Socket::UNIX->new(Peer => $d->{sock}, Type => SOCK_STREAM) or POSIX::_exit(2);
		print $s $lines;
		close $s;
	});
	waitpid($pid, 0);
	return "the client could not send (exit " . ($? >> 8) . ')' if $?;
	sleep 0.3;
	settle();
	my $n = () = $d->log_text =~ /view cancelled, the client hung up/g;
	return "sent and hung up; daemon log: $n views cancelled so far";
}

# 4b: the view is read to its end (the cap closes the connection).
sub read_to_end {
	my ($line) = @_;
	my $s = send_line($line);
	my ($n, $sel, $t0, $tail) = (0, IO::Select->new($s), time, '');
	while (time - $t0 < 120 && $sel->can_read(120)) {
		my $k = sysread($s, my $b, 1 << 20) or last;
		$n += $k;
		$tail = substr($tail . $b, -200);
	}
	close $s;
	return sprintf '%.1f MiB read, %s', $n / 1048576,
		$tail =~ /\n$/ ? ($tail =~ /"error"/ ? 'an error line' : 'a whole reply') : 'closed without a newline';
}

# 6: hold.pl as nobody: its connections, then a byte of a request that never
# ends on each, every 0.2 s, for trickle_s.
sub hold_and_trickle {
	require IPC::Open2;
	my $pid = IPC::Open2::open2(my $out, my $in, setpriv($NOBODY_UID, 'perl', "$DIR/tools/hold.pl", $d->{sock}, $Z{hold}));
	my $first = eval { $J->decode(scalar <$out> // '') } // {};
	print $in "trickle $Z{trickle_s}\n";
	$in->flush;
	my $tr = eval { $J->decode(scalar <$out> // '') } // {};
	close $in;
	waitpid($pid, 0);
	return sprintf 'open %s, refused %s; trickled %s s: %s closed by the daemon',
		$first->{open} // '?', $first->{refused} // '?', $Z{trickle_s}, $tr->{closed} // '?';
}

# 7a: flood.pl as nobody, `act create` pipelined.
sub forbidden_flood {
	my $out = run_capture(setpriv($NOBODY_UID, 'perl', "$DIR/tools/flood.pl", $d->{sock}, 'act',
				      '{"action":"create","params":{"n":1}}', $Z{forbidden}));
	my $r = eval { $J->decode($out) } // {};
	return "flood.pl failed: $out" unless defined $r->{replies};
	return "$r->{replies} replies, codes " . join(' ', map { "$_×$r->{codes}{$_}" } sort keys %{ $r->{codes} });
}

# 7b: nobody holds connections_per_uid (64) connections, then connects again
# and again; each is refused with a line (or closed).
sub refused_flood {
	pipe(my $rd, my $wr) or die_harness("pipe: $!");
	my $pid = as_user($NOBODY_UID, sub {
		close $rd;
		$SIG{PIPE} = 'IGNORE';
		my @held = grep { defined } map { IO::Socket::UNIX->new(Peer => $d->{sock}, Type => SOCK_STREAM) } 1 .. 64;
		my ($refused, $failed) = (0, 0);
		for (1 .. $Z{refused}) {
			my $s = IO::Socket::UNIX->new(Peer => $d->{sock}, Type => SOCK_STREAM) or do { $failed++; next };
			my $l = <$s>;
			$refused++ if defined $l && $l =~ /-32007/;
		}
		print $wr scalar(@held) . " held, $refused refused with -32007, $failed connects failed\n";
		close $wr;
	});
	close $wr;
	my $r = <$rd> // "the client failed\n";
	waitpid($pid, 0);
	chomp $r;
	return $r;
}

# ---------------------------------------------------------------- the run

# What the daemon logged since byte `from`: each kind of event (level,
# module, message) with its count and its first line, the five most frequent.
sub log_digest {
	my ($from) = @_;
	my (%n, %first);
	for (split /\n/, substr($d->log_text, $from)) {
		next unless /^\S+ (\w+)\s+(\w+): (.*)$/;
		my $kind = "$1 $2: " . ($3 =~ s/ \w+=.*$//r);
		$first{$kind} //= length > 220 ? substr($_, 0, 220) . '…' : $_;
		$n{$kind}++;
	}
	my @top = grep { defined } (sort { $n{$b} <=> $n{$a} || $a cmp $b } keys %n)[0 .. 4];
	return map { sprintf '%6d× %s', $n{$_}, $first{$_} } @top;
}

# --perf: the daemon's threads sampled during each abuse (perf record), and
# for a missed one the functions that took the most samples, by thread (the
# loop's thread id is the daemon's pid).  The data stays in --dir, for
# `perf report -i`; binaries of `make PROFILE=1` give call graphs too.
sub perf_start {
	my ($key) = @_;
	return undef unless $o{perf};
	my $data = "$DIR/perf.$key.data";
	my $pid = fork // die_harness("fork: $!");
	if ($pid == 0) {
		open STDOUT, '>', '/dev/null';
		open STDERR, '>', "$DIR/perf.$key.err";
		exec 'perf', 'record', '-q', '-F', '999', '-g', '-p', $d->{pid}, '-o', $data or POSIX::_exit(127);
	}
	sleep 0.3; # perf attaches
	return { pid => $pid, data => $data };
}
sub perf_stop {
	my ($p) = @_;
	return unless $p;
	kill 'INT', $p->{pid};
	waitpid($p->{pid}, 0);
}
sub perf_top {
	my ($p) = @_;
	my @l = grep { /\S/ && !/^#/ } split /\n/,
		`perf report -i $p->{data} --no-children --sort pid,dso,sym --stdio -q -g none --percent-limit 2 2>/dev/null`;
	return @l ? @l[0 .. ($#l < 9 ? $#l : 9)] : ("no samples (is perf allowed? see $p->{data})");
}

my @rows;
sub measure {
	my ($key, $label, $run, $state) = @_;
	settle();
	my $log_at = length $d->log_text;
	my $c0 = cpu_s();
	my $perf = perf_start($key);
	my $t0 = time;
	my $what = $run->($state);
	# A window holds a few of the client's requests, however soon the
	# abuse is over (a refusal is answered in a millisecond).
	sleep($t0 + 5 * $PERIOD - time) if time < $t0 + 5 * $PERIOD;
	my $t1 = time;
	perf_stop($perf);
	wait_probe_past($t1);
	my ($lat, $err, $tmo, $slowest) = samples($t0, $t1);
	my $row = { key => $key, label => $label, n => scalar @$lat, p50 => pct($lat, 0.5), p99 => pct($lat, 0.99),
		    max => $lat->[-1], secs => $t1 - $t0, cpu => cpu_s() - $c0, what => $what, err => $err, tmo => $tmo };
	$row->{met} = defined $row->{p99} && $row->{p99} <= $TARGET{p99} && $row->{max} <= $TARGET{max} && !$tmo;
	push @rows, $row;
	printf "%-4s %-36s %6d %7.1f %7.1f %7.1f %6.1f %-4s %5.1f  %s%s\n", $key, $label, $row->{n},
		map({ $_ // -1 } @$row{qw(p50 p99 max)}), $row->{secs}, $row->{met} ? 'yes' : 'NO', $row->{cpu}, $what,
		$err || $tmo ? " [client: $err errors, $tmo timeouts]" : '';
	if (!$row->{met} || $o{verbose}) {
		# on the log's clock (UTC), to be read against the lines below
		my @tm = gmtime($slowest->[0]);
		printf "       slowest: written at %02d:%02d:%06.3fZ, answered %.1f ms later\n", @tm[2, 1],
			$tm[0] + $slowest->[0] - int($slowest->[0]), $slowest->[1];
		print map { "       logged: $_\n" } log_digest($log_at);
	}
	print map { "       profile: $_\n" } perf_top($perf) if $perf && (!$row->{met} || $o{verbose});
	die_harness("the daemon died during $key") unless $d->alive;
}

my %only = map { $_ => 1 } split /,/, $o{only} // '';
sleep 0.5;
note sprintf 'well-behaved client: status + eval %s every %.0f ms on one connection; target p99 <= %d ms, max <= %d ms',
	$EVAL_ID, $PERIOD * 1000, @TARGET{qw(p99 max)};
note sprintf 'load average %s on %s CPUs%s', (split ' ', `cat /proc/loadavg`)[0], `nproc` =~ s/\s+$//r,
	$o{quick} ? ' (--quick: sizes ÷10)' : $o{smoke} ? ' (--smoke: a harness check, figures mean nothing)' : '';
printf "%-4s %-36s %6s %7s %7s %7s %6s %-4s %5s  %s\n", '', 'abuse', 'reqs', 'p50_ms', 'p99_ms', 'max_ms', 'ran_s',
	'met', 'cpu_s', 'the abuser got';
measure('-', 'none (the client alone)', sub { sleep $Z{idle}; 'nothing' });
my $baseline = shift @rows;
for my $a (@abuses) {
	my ($key, $label, $root, $prep, $run) = @$a;
	next if %only && !$only{$key};
	if ($root && !$ROOTED) {
		printf "%-4s %-36s skipped: needs root (setpriv to a user with no role)\n", $key, $label;
		next;
	}
	my $state = $prep->();
	measure($key, $label, $run, $state);
}
kill 'TERM', $probe_pid;
waitpid($probe_pid, 0);
my $probe_rc = $? >> 8;
$probe_pid = undef;
die_harness("the well-behaved client failed (exit $probe_rc: 2 connect, 3 write, 4 read)") if $probe_rc;
my $stop = $d->stop;
note "the daemon stopped with status $stop" if $stop;

my ($wp99, $wmax) = (0, 0);
for (@rows) {
	$wp99 = $_->{p99} if ($_->{p99} // 0) > $wp99;
	$wmax = $_->{max} if ($_->{max} // 0) > $wmax;
}
my @missed = map { $_->{key} } grep { !$_->{met} } @rows;
note 'missed: ' . join(' ', @missed) if @missed;
remove_tree("$DIR/daemon/db", "$DIR/packs", glob("$DIR/perf.*")) unless $o{keep};
note "the daemon's log: $DIR/daemon/liud.log";
printf "bench-abuse: worst_p99_ms=%.1f worst_max_ms=%.1f met=%s\n", $wp99, $wmax, (@rows && !@missed) ? 'yes' : 'no';
exit 0;
