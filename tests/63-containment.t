#!/usr/bin/perl
# Containment: whatever a pack does — a message handler that never ends, a
# pack name that is a path, a file() that leaves the pack — the daemon
# answers everyone else, ends the pack's code within its budget, writes
# nothing outside its folders and stops on SIGTERM in time.  Each case is
# what an outsider did to an earlier build.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use Time::HiRes qw(sleep time);
use POSIX qw(:sys_wait_h);

my $tmp = tempdir('liud-contain-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $bin = bin_dir();
my $npack = 0;
# memcheck runs one thread at a time, and the sanitizers slow everything:
# the bar for "answered meanwhile" is widened there (it is a stall bar only).
my $slow_factor = $ENV{LIUD_VALGRIND} ? 10 : $ENV{LIUD_SAN} ? 3 : 1;

# A copy of the mini pack with `extra` appended to main.lua; without its
# tests unless asked.
sub pack_with {
	my ($extra, %o) = @_;
	my $dir = "$tmp/p" . ++$npack;
	system('cp', '-r', 'tests/packs/mini', $dir) == 0 or die;
	system('rm', '-rf', "$dir/tests") unless $o{tests};
	open my $f, '>>:encoding(UTF-8)', "$dir/main.lua" or die;
	print $f "\n$extra\n";
	close $f;
	return $dir;
}

# Runs a command with a time limit; returns (exit status, output, seconds).
sub run_limited {
	my ($limit, @cmd) = @_;
	my $t = time;
	my $pid = open(my $out, '-|') // die "fork: $!";
	if (!$pid) {
		open STDERR, '>&', \*STDOUT;
		exec @cmd or exit 127;
	}
	local $SIG{ALRM} = sub { kill 'KILL', $pid };
	alarm $limit;
	my $text = do { local $/; <$out> } // '';
	close $out;
	alarm 0;
	return ($?, $text, time - $t);
}

sub send_req {
	my ($d, $method, $params) = @_;
	my $s = $d->connect;
	print $s json()->encode({ jsonrpc => '2.0', id => 1, method => $method, params => $params // {} }), "\n";
	return $s;
}

sub read_reply {
	my ($s, $limit) = @_;
	my $line;
	eval {
		local $SIG{ALRM} = sub { die "timeout\n" };
		alarm $limit;
		$line = <$s>;
		alarm 0;
	};
	alarm 0;
	return defined $line && $line =~ /\S/ ? json()->decode($line) : undef;
}

# status from other connections while `s` waits; returns the slowest, or
# undef when one was not answered within a second.
sub others_answered {
	my ($d, $s, $limit) = @_;
	my $worst = 0;
	my $end = time + $limit;
	my $n = 0;
	while (time < $end) {
		my $t = time;
		my $q = send_req($d, 'status');
		my $r = read_reply($q, $slow_factor);
		return undef unless $r && $r->{result};
		$worst = time - $t if time - $t > $worst;
		$n++;
		last if IO::Select->new($s)->can_read(0.05);
	}
	return ($worst, $n);
}
use IO::Select;

my $handler_loop = 'xpcall(function () while true do end end, function () while true do end end)';

# --- 1. a message handler that never ends ---------------------------------------
{
	my $p = pack_with($handler_loop);
	my ($st, $out, $secs) = run_limited(60, "$bin/liud", 'check', $p);
	ok($st != 0 && $st != 9, 'liud check of a pack whose handler never ends returns, with an error');
	like($out, qr/budget/, 'and says the budget stopped it') or diag($out);
	($st, $out) = run_limited(60, "$bin/liud", 'test', $p);
	ok($st != 0 && $st != 9, 'liud test returns too');

	my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini');
	my $s = send_req($d, 'rules.check', { path => $p });
	my ($worst, $n) = others_answered($d, $s, 30);
	ok(defined $worst, 'other clients are answered while the check runs');
	diag(sprintf('rules.check of a runaway handler: %d status calls meanwhile, slowest %.0f ms',
		     $n // 0, 1000 * ($worst // 0)));
	my $r = read_reply($s, 60);
	is($r && $r->{error}{code}, -32005, 'the check ends in -32005');
	like($r && $r->{error}{message}, qr/budget/, 'with the budget as its reason');

	# A check whose client hangs up at once is stopped, not run to its end.
	my $slow = pack_with('local n = 0 while true do n = n + 1 end');
	my $h = send_req($d, 'rules.check', { path => $slow });
	sleep 0.3;
	close $h;
	my $t0 = time;
	my $cancelled = 0;
	while (time - $t0 < 10) {
		if ($d->log_text =~ /check cancelled, the client hung up.*\n.*check done dir=\Q$slow\E/s) { $cancelled = 1; last }
		sleep 0.05;
	}
	ok($cancelled, 'a check whose client hung up is cancelled');
	diag(sprintf('cancelled and done %.2f s after the hang-up', time - $t0));

	# The same inside a view's row, on a running daemon.
	my $vp = pack_with(<<'LUA');
view "runaway" { roles = { "agency" }, kind = "note", states = { "open" },
  columns = { { id = "text", ja = "本文", en = "Text" } },
  row = function (app)
    xpcall(function () while true do end end, function () while true do end end)
    return { text = app.text }
  end }
LUA
	my $v = Liud::start_daemon(clock => '2024-06-01', rules => $vp);
	$v->ok_call('act', { action => 'create', params => { text => 'x' } });
	my $t = time;
	$r = $v->call('view', { name => 'runaway' });
	is($r->{error}{code}, -32005, 'a view row whose handler never ends: -32005');
	like($r->{error}{message}, qr/budget/, 'over its budget');
	ok($v->call('status')->{result}, 'and the daemon answers the next request');
	diag(sprintf('the runaway view answered in %.2f s', time - $t));

	# SIGTERM while a rule call runs for ever (a budget of ten minutes).
	my $conf = "$tmp/long.conf";
	open my $cf, '>', $conf or die;
	print $cf "rule_budget = { instructions = 10000000000, time_ms = 600000 }\n";
	close $cf;
	my $lp = pack_with(<<'LUA');
view "forever" { roles = { "agency" }, kind = "note", states = { "open" },
  columns = { { id = "text", ja = "本文", en = "Text" } },
  row = function (app) while true do end end }
LUA
	my $l = Liud::start_daemon(clock => '2024-06-01', rules => $lp, conf => $conf);
	$l->ok_call('act', { action => 'create', params => { text => 'x' } });
	my $ls = send_req($l, 'view', { name => 'forever' });
	sleep 0.5;
	$t = time;
	kill 'TERM', $l->{pid};
	my $gone = 0;
	while (time - $t < 15) {
		if (waitpid($l->{pid}, WNOHANG) == $l->{pid}) { $gone = 1; last }
		sleep 0.05;
	}
	my $took = time - $t;
	$l->{pid} = undef if $gone;
	ok($gone && $took < 5, 'SIGTERM stops the daemon within 5 s while a rule call runs for ever');
	diag(sprintf('stopped %.2f s after SIGTERM', $took));
}

# --- 3. file() leaves the pack ----------------------------------------------------
{
	my $p = pack_with('local s = file("d/hostname")');
	symlink('/etc', "$p/d") or die;
	my ($st, $out, $secs) = run_limited(30, "$bin/liud", 'check', $p);
	ok($st != 0 && $st != 9, 'a pack that reads through a linked folder does not load');
	like($out, qr/not a regular file of the pack/, 'and is told that links are never read');
	my $host = do { open my $h, '<', '/etc/hostname'; local $/; <$h> } // 'no-host';
	unlike($out, qr/\Q$host\E/, 'nothing of the file outside is echoed') if length $host > 3;

	my $f = pack_with('local s = file("x.fifo")');
	system('mkfifo', "$f/x.fifo") == 0 or die;
	($st, $out, $secs) = run_limited(30, "$bin/liud", 'check', $f);
	ok($st != 0 && $st != 9 && $secs < 10, 'file() of a FIFO fails at once instead of waiting for a writer');
	like($out, qr/not a regular file of the pack/, 'and says why');
}

# A pack is read whole, within a cap: a large data file is refused, named.
{
	my $p = pack_with('');
	mkdir "$p/data";
	open my $big, '>', "$p/data/big.bin" or die;
	print $big "x" x (17 << 20);
	close $big;
	my ($st, $out) = run_limited(30, "$bin/liud", 'check', $p);
	ok($st != 0 && $st != 9, 'a pack over 16 MiB does not load');
	like($out, qr/larger than 16 MiB/, 'and the error says why');
}

# The cap is storage.pack_mib: at 1 a pack of 2 MiB is refused by a daemon
# so configured, naming the setting; the same pack loads under the default.
{
	my $p = pack_with('');
	mkdir "$p/data";
	open my $big, '>', "$p/data/big.bin" or die;
	print $big "x" x (2 << 20);
	close $big;
	my $dd = "$tmp/pack-mib";
	mkdir $dd or die;
	open my $cf, '>', "$dd/liud.conf" or die;
	print $cf "storage = { pack_mib = 1 }\n";
	close $cf;
	my $d = Liud::start_daemon(dir => $dd, rules => 'tests/packs/mini', conf => "$dd/liud.conf");
	my $r = $d->call('rules.check', { path => $p });
	ok($r->{error}, 'with storage.pack_mib = 1 a pack of 2 MiB does not load');
	like($r->{error}{message} // '', qr/larger than 1 MiB.*storage\.pack_mib/, 'and the error names the setting');
	$d->stop;
	my ($st, $out) = run_limited(30, "$bin/liud", 'check', $p);
	is($st, 0, 'the same pack loads under the default cap') or diag $out;
}

# A folder of the pack swapped for a link to the outside while the pack is
# read (renameat2 RENAME_EXCHANGE, over and over): the pack is read through
# descriptors, so what is outside is never part of it.
SKIP: {
	my $SYS_renameat2 = 316; # x86_64
	skip 'renameat2 exchange is wired for x86_64 only', 1
		unless (POSIX::uname())[4] eq 'x86_64';
	my $out_dir = "$tmp/outside";
	mkdir $out_dir;
	open my $o, '>', "$out_dir/secret" or die;
	print $o "TOPSECRET\n";
	close $o;
	my $p = pack_with('local ok, s = pcall(file, "d/secret"); error("read: " .. tostring(s))');
	mkdir "$p/d";
	open my $h, '>', "$p/d/secret" or die;
	print $h "harmless\n";
	close $h;
	symlink($out_dir, "$p/swap") or die;
	my $flipper = fork // die;
	if (!$flipper) {
		my ($a, $b) = ("$p/d", "$p/swap");
		for (1 .. 5_000_000) {
			syscall($SYS_renameat2, -100, $a, -100, $b, 2) == 0 or POSIX::_exit(1);
		}
		POSIX::_exit(0);
	}
	my ($leaks, $runs, $t0) = (0, 0, time);
	while (time - $t0 < 3) {
		my ($st, $out) = run_limited(30, "$bin/liud", 'check', $p);
		$runs++;
		$leaks++ if $out =~ /TOPSECRET/;
	}
	kill 'KILL', $flipper;
	waitpid($flipper, 0);
	is($leaks, 0, "no check of a pack whose folder is swapped for a link reads outside it ($runs checks)");
}

# --- 2. the pack name is a path ---------------------------------------------------
{
	my $victim = "$tmp/victim";
	mkdir $victim;
	my $evil = pack_with('');
	my $depth = '../' x 12;
	system('sed', '-i', "s|name = \"mini\"|name = \"$depth$victim\"|", "$evil/main.lua") == 0 or die;
	my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini');
	my $v1 = $d->ok_call('rules.status')->{version};
	my $r = $d->call('rules.reload', { path => $evil });
	is($r->{error}{code}, -32005, 'a pack whose name is a path is refused');
	like($r->{error}{message} // '', qr/not a pack name/, 'and the error says the name is not a pack name');
	# Whatever happened, a rollback writes nothing outside the database.
	my $good = pack_with('-- a second version');
	$d->ok_call('rules.reload', { path => $good });
	$d->ok_call('rules.rollback', { version => $v1 });
	$d->ok_call('rules.reload', { path => $good, force => JSON::PP::true });
	# A link planted where the next copy of the kept version would go.
	my $next = "$d->{db}/packs";
	my @have = glob("$next/$v1.*");
	is(scalar @have, 0, 'the folder a rollback wrote is gone once another version is live');
	symlink($victim, "$next/$v1.1") or die "symlink: $!";
	$r = $d->call('rules.rollback', { version => $v1 });
	ok($r->{result}, 'a second rollback to the same version works') or diag(json()->encode($r));
	opendir my $vd, $victim or die;
	my @in = grep { !/^\./ } readdir $vd;
	is(scalar @in, 0, 'nothing was written through a link planted in the packs folder');
	ok(!-e "$tmp/x", 'nor anywhere the pack name pointed');
}

done_testing();
