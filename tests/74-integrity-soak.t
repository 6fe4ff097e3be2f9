#!/usr/bin/perl
# Integrity rounds: each round writes records (acknowledged), then kills the
# daemon with -9 while it makes a backup (and a writer pipelines creates),
# restarts it, kills it again while it runs audit verify, restarts it, and
# cuts a copy of data.mdb at a random length short of its pages in use.
# Counted: deaths by a signal other than our own kill -9 (must be 0),
# acknowledged records lost or changed (0), damaged files not refused with
# their message (0), copies with an unused tail that do not start (0).  `make soak` runs many rounds
# (LIUD_INTEGRITY_ROUNDS, default 3 here); the figures are printed at the end.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use Time::HiRes qw(sleep time);

my $ROUNDS = $ENV{LIUD_INTEGRITY_ROUNDS} // 3;
my $SEED = $ENV{LIUD_INTEGRITY_SEED} // int(time);
srand($SEED);
my $clock = '2024-06-01T12:00:00+09:00';
my $tmp = tempdir('liud-is-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d = Liud::start_daemon(clock => $clock, rules => 'tests/packs/mini');
my %acked; # id -> text of every acknowledged create
my %n = map { $_ => 0 } qw(signals lost backups_killed backup_copies backup_copies_started
			   verify_killed truncations refused not_refused started_after_kill
			   tail_cuts tail_started);
my @abc = ('a' .. 'z', 0 .. 9);
sub noise { join '', map { $abc[rand @abc] } 1 .. $_[0] }

sub write_some {
	my ($k) = @_;
	my @rows = map { { text => "r$_ " . noise(1500) } } 1 .. $k;
	my $r = $d->ok_call('import', { action => 'create', rows => \@rows });
	for my $i (0 .. $#rows) {
		my $id = $r->{ids}[$i];
		$acked{$id} = $rows[$i]{text} if defined $id;
	}
}

# A kill -9 while `method` runs: the request is sent, the daemon is killed
# after a random part of `span` seconds, then restarted.
# Meanwhile a writer pipelines creates on another connection: those whose
# reply came before the kill are acknowledged and must survive it.
sub kill_during {
	my ($method, $params, $span) = @_;
	my $s = $d->connect;
	my $w = $d->connect;
	print $s Liud::json()->encode({ jsonrpc => '2.0', id => 1, method => $method, params => $params }), "\n";
	my %text;
	for my $i (1 .. 40) {
		$text{$i} = "w$i " . noise(800);
		print $w Liud::json()->encode({ jsonrpc => '2.0', id => $i, method => 'act',
						 params => { action => 'create', params => { text => $text{$i} } } }), "\n";
	}
	sleep(rand($span));
	$d->stop('KILL');
	close $s;
	while (my $line = <$w>) { # the replies written before the kill, then EOF
		my $r = eval { Liud::json()->decode($line) } or next;
		$acked{ $r->{result}{record}{id} } = $text{ $r->{id} } if $r->{result};
	}
	close $w;
	$n{signals}++ if $d->{signal} && $d->{signal} != 9;
	$d->start;
	$n{started_after_kill}++ if $d->alive;
	$n{signals}++ if !$d->alive && $d->{signal};
}

# The bytes of data.mdb in use: LMDB's page count times its page size, as
# lmdb-utils' mdb_stat reads them from the meta pages.
sub used_bytes {
	my ($dir) = @_;
	my $info = `mdb_stat -e $dir 2>&1`;
	my ($psize) = $info =~ /Page size: (\d+)/ or die "mdb_stat -e $dir: $info";
	my ($pages) = $info =~ /Number of pages used: (\d+)/ or die "mdb_stat -e $dir: $info";
	return $pages * $psize;
}

sub check_acked {
	my $lost = 0;
	for my $id (sort keys %acked) {
		my $r = $d->call('record.get', { id => $id });
		$lost++ unless $r->{result} && ($r->{result}{data}{text} // '') eq $acked{$id};
	}
	return $lost;
}

# How long a backup and a verify take, to kill them within.
write_some(300);
my $t0 = time;
$d->ok_call('backup', { path => "$tmp/first" });
my $bk_s = time - $t0;
$t0 = time;
$d->ok_call('audit.verify');
my $vf_s = time - $t0;

for my $round (1 .. $ROUNDS) {
	write_some(50);
	my $dir = "$tmp/b$round";
	kill_during('backup', { path => $dir }, $bk_s * 1.5);
	$n{backups_killed}++;
	if (-e "$dir/data.mdb") {
		$n{backup_copies}++;
		my $x = Liud::start_daemon(clock => $clock, rules => 'tests/packs/mini', args => [ '--db', $dir ]);
		$n{backup_copies_started}++ if $x->alive && $x->ok_call('audit.verify')->{ok};
		$n{signals}++ if !$x->alive && $x->{signal};
		$x->stop;
	}
	write_some(50);
	kill_during('audit.verify', {}, $vf_s * 1.5);
	$n{verify_killed}++;
	$n{lost} += check_acked();
	# data.mdb cut at a random length short of the pages its meta page says
	# are in use.  The file can be longer than that (pages a transaction
	# killed by kill -9 wrote but never committed): a cut in that tail
	# loses nothing, and the daemon must start on it (where there is no
	# such tail, the copy is given one of three zero pages).
	$d->stop;
	my $size = -s "$d->{db}/data.mdb";
	my $used = used_bytes($d->{db});
	{
		my $tail = "$tmp/tail$round";
		mkdir $tail;
		copy("$d->{db}/data.mdb", "$tail/data.mdb") or die;
		truncate("$tail/data.mdb", $size > $used ? $used + int(rand($size - $used)) : $used + 3 * 4096) or die;
		my $x = Liud::start_daemon(clock => $clock, rules => 'tests/packs/mini', args => [ '--db', $tail ]);
		$n{tail_cuts}++;
		$n{tail_started}++ if $x->alive && $x->ok_call('audit.verify')->{ok};
		$n{signals}++ if !$x->alive && $x->{signal};
		diag("round $round: data.mdb with a tail past its $used bytes in use did not start:\n" . $x->log_text)
			unless $x->alive;
		$x->stop;
	}
	my $len = int(rand($used));
	my $cut = "$tmp/cut$round";
	mkdir $cut;
	copy("$d->{db}/data.mdb", "$cut/data.mdb") or die;
	truncate("$cut/data.mdb", $len) or die;
	my $x = Liud::start_daemon(clock => $clock, rules => 'tests/packs/mini', args => [ '--db', $cut ],
				   expect_exit => 1);
	$n{truncations}++;
	$n{signals}++ if $x->{signal} && !$x->{timed_out};
	if (!$x->{signal} && $x->{exit} == 1 && $x->log_text =~ /\Q$cut\E\/data\.mdb.*restore .*backup/is) {
		$n{refused}++;
	} else {
		$n{not_refused}++;
		diag("round $round: data.mdb cut to $len of $size bytes: exit=" . ($x->{exit} // '?') .
		     ' signal=' . ($x->{signal} // '?') . ($x->{timed_out} ? ' (still running after 20 s)' : '')
		     . " used=$used\n" . $x->log_text);
	}
	$d->start;
}
my $v = $d->ok_call('audit.verify');
ok($v->{ok}, "the audit chain and every record verify after $ROUNDS rounds");
is($n{signals}, 0, 'no death by a signal but our own kill -9');
is($n{lost}, 0, 'no acknowledged record lost or changed (' . scalar(keys %acked) . ' records)');
is($n{started_after_kill}, 2 * $ROUNDS, 'the daemon restarts after every kill -9');
is($n{backup_copies_started}, $n{backup_copies}, 'every data.mdb a killed backup left is complete');
is($n{refused}, $n{truncations}, 'every cut data.mdb is refused, naming the file and a backup to restore');
is($n{tail_started}, $n{tail_cuts}, "a data.mdb with an unused tail past its pages in use starts and verifies ($n{tail_cuts} such)");
$d->stop;
diag(sprintf('integrity soak: seed=%s rounds=%d records=%d signals=%d lost=%d backups_killed=%d '
	     . '(copies left %d, all started: %d) verify_killed=%d truncations=%d refused=%d',
	     $SEED, $ROUNDS, scalar(keys %acked), $n{signals}, $n{lost}, $n{backups_killed},
	     $n{backup_copies}, $n{backup_copies_started}, $n{verify_killed}, $n{truncations},
	     $n{refused}));
done_testing();
