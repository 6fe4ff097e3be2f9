#!/usr/bin/perl
# The benchmark's load generator (scripts/bench/loadgen.c) against a real
# daemon (the core's minimal pack) and a fake RESP server: counts, error
# detection, timed runs, the control connection that crosses a deadline, and
# start-up timing.  No Redis needed; `make bench-smoke` runs the whole bench.
# Last, `make bench-abuse`'s harness (scripts/bench/abuse.pl --smoke) runs
# every abuse once at tiny sizes: it checks that the harness works and
# reports, never its figures.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

my $tmp = tempdir('liud-bench-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $lg = "$tmp/loadgen";
my $cc = $ENV{CC} // 'cc';
system($cc, '-std=gnu11', '-O2', '-o', $lg, 'scripts/bench/loadgen.c', '-lpthread', '-lm') == 0
	or BAIL_OUT('cannot build scripts/bench/loadgen.c');

# Runs loadgen; returns (exit status, {key => value}, stderr).
sub lg {
	my @args = @_;
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if ($pid == 0) {
		open STDERR, '>', "$tmp/err" or die;
		exec $lg, @args or die "exec: $!";
	}
	my $out = do { local $/; <$fh> } // '';
	close $fh;
	my %r = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split ' ', $out;
	my $err = do { open my $e, '<', "$tmp/err"; local $/; <$e> // '' };
	return ($? >> 8, \%r, $err);
}

my $d = Liud::start_daemon(clock => '2024-12-31T23:59:00+09:00', rules => 'tests/packs/mini');
my $create = '{"jsonrpc":"2.0","id":1,"method":"act","params":{"action":"create","params":{"text":"note {{SEQ}}"}}}';

# --count: exactly that many requests over several pipelined connections.
my ($rc, $r, $err) = lg('--socket', $d->{sock}, '--request', $create, '--count', 300, '--conns', 4,
			'--depth', 8, '--label', 'load');
is($rc, 0, 'a counted run succeeds') or diag $err;
is($r->{ops}, 300, 'every request was answered');
is($r->{errors}, 0, 'without error replies');
ok($r->{rps} > 0 && $r->{p50_us} <= $r->{p99_us} && $r->{p99_us} <= $r->{max_us}, 'rate and ordered percentiles');
is($d->ok_call('status')->{records}{note}{open}, 300, 'the daemon holds the 300 records');

# Templates: request SEQ uses line (SEQ-1) mod K; {{ID}} with a number format.
open my $t, '>', "$tmp/t" or die;
print $t '{"jsonrpc":"2.0","id":1,"method":"record.get","params":{"id":"N-{{ID}}"}}', "\n";
print $t '{"jsonrpc":"2.0","id":1,"method":"record.get","params":{"id":"X-{{ID}}"}}', "\n";
close $t;
($rc, $r, $err) = lg('--socket', $d->{sock}, '--template', "$tmp/t", '--count', 40, '--id-min', 1,
		     '--id-max', 300, '--id-fmt', '%06d', '--show-errors', 1);
is($rc, 0, 'error replies do not fail the run');
is($r->{ops}, 40, 'all answered');
is($r->{errors}, 20, 'every second request (the missing X- records) is counted as an error');
like($err, qr/error reply: .*-32002/, 'and the first one is shown');

# --duration with --warmup: a timed window.
($rc, $r) = lg('--socket', $d->{sock}, '--request',
	       '{"jsonrpc":"2.0","id":1,"method":"eval","params":{"id":"N-{{ID}}"}}', '--id-max', 300,
	       '--id-fmt', '%06d', '--conns', 3, '--depth', 2, '--duration', 0.5, '--warmup', 0.2);
is($rc, 0, 'a timed run succeeds');
ok($r->{ops} > 10 && $r->{errors} == 0, "it counts the replies of the window ($r->{ops})");
ok(abs($r->{secs} - 0.5) < 0.01, 'over the window asked for');

# --during: the control connection crosses the deadline while readers run.
($rc, $r, $err) = lg('--socket', $d->{sock}, '--request',
		     '{"jsonrpc":"2.0","id":1,"method":"record.get","params":{"id":"N-{{ID}}"}}',
		     '--id-max', 300, '--id-fmt', '%06d', '--conns', 2, '--warmup', 0.2,
		     '--during', '{"jsonrpc":"2.0","id":1,"method":"clock.set","params":{"now":"2025-01-01T00:00:00+09:00"}}',
		     '--during', '{"jsonrpc":"2.0","id":2,"method":"enforce","params":{}}');
is($rc, 0, 'a run with control requests succeeds') or diag $err;
ok(defined $r->{during1_ms} && defined $r->{during2_ms}, 'the time of each control reply is given');
ok($r->{before_ops} > 0, 'reads before the control requests are kept apart');
like($err, qr/control reply 2: .*"result".*"enforced"/, 'the enforce reply is shown');
is($d->ok_call('status')->{records}{note}{expired}, 300, 'the deadline was enforced by then');
$d->stop;

# --spawn: start-up until the first answered request; loadgen stays the parent.
my $dir = tempdir('liud-bench-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $pid = open(my $sp, '-|', $lg, '--socket', "$dir/s.sock", '--spawn-log', "$dir/log", '--spawn', '--',
	       Liud::bin_dir() . '/liud', '--socket', "$dir/s.sock", '--db', "$dir/db", '--rules',
	       'tests/packs/mini') // die;
my $line = <$sp> // '';
chomp $line;
like($line, qr/^startup_ms=[\d.]+ connect_ms=[\d.]+ pid=\d+ reply_error=0$/, "start-up timed: $line");
my ($daemon) = $line =~ /pid=(\d+)/;
ok($daemon && kill(0, $daemon), 'the daemon runs on');
kill 'TERM', $daemon if $daemon;
close $sp;
ok(!kill(0, $daemon // 0), 'and is reaped by loadgen when it stops');

# RESP: a fake server answering PINGs with nested arrays, nulls, errors.
my $rs = "$tmp/resp.sock";
my $srv = IO::Socket::UNIX->new(Local => $rs, Type => SOCK_STREAM, Listen => 5) or die "listen: $!";
my $child = fork // die;
if ($child == 0) {
	my @replies = ("*2\r\n\$3\r\nfoo\r\n*2\r\n:5\r\n\$-1\r\n", "-ERR nope\r\n", "\$5\r\nhello\r\n", "+OK\r\n", "*-1\r\n");
	my $c = $srv->accept or exit 1;
	my ($buf, $n) = ('', 0);
	while (sysread($c, my $chunk, 65536)) {
		$buf .= $chunk;
		my $out = '';
		while ($buf =~ s/^\*1\r\n\$4\r\nPING\r\n//) { $out .= $replies[$n++ % @replies] }
		# a reply cut in two, to exercise the parser's partial reads
		my $half = int(length($out) / 2);
		syswrite($c, substr($out, 0, $half));
		sleep 0.001;
		syswrite($c, substr($out, $half));
	}
	exit 0;
}
($rc, $r, $err) = lg('--socket', $rs, '--proto', 'resp', '--request', 'PING', '--count', 100, '--depth', 7,
		     '--show-errors', 1);
is($rc, 0, 'RESP run succeeds') or diag $err;
is($r->{ops}, 100, 'every RESP reply is parsed (arrays, nested, nulls, bulk, status)');
is($r->{errors}, 20, 'RESP error replies are counted');
waitpid($child, 0);

# `make bench` itself at the smallest sizes, when redis-server is installed
# (make bench installs it): it runs, both sides judge alike, and the bench
# line carries the same-work ratios.  Then a Redis script that judges
# otherwise (R4 always passes) must stop the bench.  No figure is checked.
SKIP: {
	my ($redis) = grep { -x } map { "$_/redis-server" } split(/:/, $ENV{PATH} // ''), '/usr/sbin', '/usr/bin';
	skip 'redis-server is not installed (make bench installs it)', 5 unless $redis;
	skip 'bench.pl under memcheck would take minutes', 5 if $ENV{LIUD_VALGRIND};
	my $bdir = tempdir('liud-benchpl-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my @tiny = ('--smoke', '--apps', 32, '--sweep', 32, '--startup', 500, '--secs', 0.2, '--warmup', 0.1,
		    '--readers', 2, '--bin', Liud::bin_dir(), '--loadgen', $lg);
	my $t0 = time;
	my $out = `perl scripts/bench/bench.pl @tiny --dir $bdir/run 2>&1`;
	is($? >> 8, 0, sprintf('bench.pl at tiny sizes runs (%.1f s)', time - $t0)) or diag $out;
	like($out, qr/check: liud and the Redis script agree on \d+ evaluations .* and \d+ amends/,
	     'both sides judge alike: evals stored and sent with the call, amends') or diag $out;
	my ($line) = $out =~ /^(bench: .*)$/m;
	my %k = map { split /=/, $_, 2 } split ' ', ($line // '') =~ s/^bench: //r;
	my @want = qw(eval_ratio eval_p99_ratio cold_ratio cold1_ratio same_write_ratio same_write1_ratio
		      same_write_confirmed_ratio write_ratio sweep_s startup_ms rss_idle_mib);
	is(join(' ', grep { ($k{$_} // '') =~ /^\d+(\.\d+)?$/ } @want), "@want",
	   'the bench line gives every figure, the same-work ratios among them') or diag $line // $out;
	like($out, qr/^cold eval \/ script \(50x1\) .*\n(?:.*\n)*^amend conf\. \/ script \(50x1\) /m,
	     'and the table their rows');
	# A Redis side that judges otherwise stops the bench.
	open my $in, '<', 'scripts/bench/eligibility.lua' or die;
	my $script = do { local $/; <$in> };
	$script =~ s/^(local function check_r4\(app, at\)\n)/$1  do return pass() end\n/m or die 'no check_r4';
	open my $o, '>', "$bdir/wrong.lua" or die;
	print $o $script;
	close $o;
	$out = `perl scripts/bench/bench.pl @tiny --dir $bdir/run --script $bdir/wrong.lua 2>&1`;
	ok($? >> 8 != 0 && $out =~ /disagree:\n.*R4/s && $out !~ /^bench: eval_ratio=/m,
	   'a Redis script that judges otherwise fails the bench, naming the check') or diag $out;
}

# `make bench-hot`'s harness (scripts/bench/hot.pl --smoke), two builds (the
# same binary under two names) at tiny sizes: every phase is measured for
# both, with its median, the spread of its rounds and the ratio to the first
# build, and the closing line gives every ratio.  No figure is checked.
SKIP: {
	skip 'hot.pl under memcheck would take minutes', 4 if $ENV{LIUD_VALGRIND};
	my $hdir = tempdir('liud-hot-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $bin = Liud::bin_dir() . '/liud';
	my $t0 = time;
	my $out = `perl scripts/bench/hot.pl --smoke --bin base=$bin --bin new=$bin --loadgen $lg --dir $hdir/run 2>&1`;
	is($? >> 8, 0, sprintf('hot.pl --smoke runs (%.1f s)', time - $t0)) or diag $out;
	my @phases = ('idle rss', 'startup', 'eval id 50x1', 'eval id 50x16', 'eval inline 1x1', 'eval inline 50x1',
		      'amend 50x1', 'amend 1x1');
	my $num = qr/\d+(?:\.\d+)?/;
	my @rows = $out =~ /^(\S+(?: \S+)*?) +(?:RSS MiB|restart ms|start-up ms|req\/s|p99 us|cpu us) +$num \[$num-$num\] +$num \[$num-$num\] +$num$/mg;
	my %seen;
	is(join(',', grep { !$seen{$_}++ } @rows), join(',', @phases),
	   'every phase has its figures: both builds\' median and spread, and the ratio') or diag $out;
	is(scalar @rows, 2 + 1 + 6 * 3, 'idle: RSS and restart; startup; each load: req/s, p99 and cpu') or diag $out;
	like($out, qr/^hot: new\/base idle_rss_RSS_MiB=$num (?:\S+=$num ){19}amend_1x1_cpu_us=$num$/m,
	     'the closing line gives every ratio') or diag $out;
}

# The abuse benchmark's harness, at tiny sizes: every abuse runs and is
# reported, and the summary line is printed.  No figure is checked (the
# machine may be busy; the target is for `make bench-abuse` to report).
SKIP: {
	skip 'abuse.pl under memcheck would take minutes', 4 if $ENV{LIUD_VALGRIND};
	my $adir = tempdir('liud-abuse-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	chmod 0755, $adir; # the abusers run as other users
	my $t0 = time;
	my $out = `perl scripts/bench/abuse.pl --smoke --bin ${\ Liud::bin_dir()} --dir $adir/run 2>&1`;
	is($? >> 8, 0, sprintf('abuse.pl --smoke runs (%.1f s)', time - $t0)) or diag $out;
	like($out, qr/^bench-abuse: worst_p99_ms=[\d.]+ worst_max_ms=[\d.]+ met=(yes|no)\n\z/m,
	     'and ends with its summary line') or diag $out;
	my @keys = $out =~ /^(1a|1b|2|3a|3b|4a|4b|5|6|7a|7b) /mg;
	is("@keys", '1a 1b 2 3a 3b 4a 4b 5 6 7a 7b', 'a line for every abuse');
	my @done = $out =~ /^(?:1a|1b|2|3a|3b|4a|4b|5|6|7a|7b) +.{36} +\d+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ (?:yes|NO) /mg;
	is(scalar @done, $> == 0 ? 11 : 8, 'each with its figures (as root: those of the users with no role too)')
		or diag $out;
}
done_testing;
