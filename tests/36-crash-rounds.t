#!/usr/bin/perl
# Crash safety: rounds of kill -9 at a random moment during concurrent
# durable writes (creates and edits).  After each restart every acknowledged
# write is present byte for byte with its audit entry, every stored version
# has its audit entry (nothing half-applied), and the chain verifies.
# LIUD_CRASH_ROUNDS sets the rounds (make test: 3; make soak: 50).
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);

my $rounds = $ENV{LIUD_CRASH_ROUNDS} // 3;
my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini');
my $dir = $d->{dir};
my $canon = JSON::PP->new->canonical;
my (%acked, $total_acked);  # id -> [rev, record json] of the last acknowledged write
my $seed = $ENV{LIUD_SEED} // time;
srand($seed);
diag("seed $seed");
for my $round (1 .. $rounds) {
	my @kids;
	for my $w (1 .. 6) {
		my $pid = fork // die;
		if ($pid == 0) {
			srand($seed + $round * 100 + $w);
			open my $log, '>', "$dir/ack.$round.$w" or die;
			$log->autoflush(1);
			my @mine;
			for my $i (1 .. 100000) {
				my $edit = @mine && rand() < 0.5;
				my $p = $edit
				    ? { action => 'edit', id => $mine[rand @mine], params => { text => "r$round w$w i$i " . ('é' x ($i % 7)) } }
				    : { action => 'create', params => { text => "r$round w$w i$i" } };
				my $r = eval { $d->call('act', $p) };
				last unless $r;            # the daemon is gone
				next unless $r->{result};  # refused (e.g. an edit that raced): not acknowledged
				push @mine, $r->{result}{record}{id} unless $edit;
				print $log $canon->encode($r->{result}{record}), "\n";
			}
			_exit(0);
		}
		push @kids, $pid;
	}
	sleep 0.15 + rand(0.6);
	$d->stop('KILL');
	waitpid($_, 0) for @kids;
	my $n = 0;
	my @this_round;
	for my $w (1 .. 6) {
		open my $f, '<', "$dir/ack.$round.$w" or next;
		while (my $l = <$f>) {
			chomp $l;
			my $rec = eval { $canon->decode($l) } or next;   # a line cut by the kill
			$n++;
			my $id = $rec->{id};
			push @this_round, $id;
			$acked{$id} = [ $rec->{rev}, $canon->encode($rec) ] if !$acked{$id} || $acked{$id}[0] < $rec->{rev};
		}
	}
	$total_acked += $n;
	$d->start;
	ok($d->alive, "round $round: restarted after kill -9 ($n writes acknowledged)");
	my ($bad, $missing_audit) = (0, 0);
	# Every record in bulk (pages of 1000), then the acknowledged ones.
	my %stored;
	my $page = { limit => 1000 };
	while (1) {
		my $l = $d->ok_call('record.list', $page);
		$stored{ $_->{id} } = $_ for @{ $l->{records} };
		last unless $l->{next};
		$page = { limit => 1000, after => $l->{next} };
	}
	for my $id (sort keys %acked) {
		my $rec = $stored{$id};
		if (!$rec || $rec->{rev} < $acked{$id}[0] ||
		    ($rec->{rev} == $acked{$id}[0] && $canon->encode($rec) ne $acked{$id}[1])) {
			$bad++;
			diag("$id: acknowledged rev $acked{$id}[0], stored " . ($rec ? "rev $rec->{rev}" : 'nothing'));
		}
	}
	# The audit entries of this round's writes, and of every stored version
	# touched this round (a sample of the rest is covered by earlier rounds).
	for my $id (sort keys %{ { map { $_ => 1 } @this_round } }) {
		my $h = $d->ok_call('history', { id => $id })->{entries};
		my %revs = map { ($_->{rev_after} // -1) => 1 } grep { $_->{outcome} eq 'ok' } @$h;
		$missing_audit++ unless $revs{ $acked{$id}[0] } && $revs{ $stored{$id}{rev} // -1 };
	}
	# Nothing half-applied: as many audit entries as stored revisions (plus
	# the rules activations), since each version is written with its entry.
	my $revs = 0;
	$revs += $_->{rev} for values %stored;
	my $activations = scalar @{ $d->ok_call('rules.history')->{history} };
	is($revs + $activations, $d->ok_call('audit.verify')->{entries},
	   "round $round: one audit entry per stored revision, none half-applied");
	is($bad, 0, "round $round: every acknowledged write is present, byte for byte");
	is($missing_audit, 0, "round $round: with its audit entry, and the stored version has one too");
	ok($d->ok_call('audit.verify')->{ok}, "round $round: the audit chain verifies");
}
diag("$total_acked acknowledged writes over $rounds rounds");
is($d->stop, 0, 'clean stop at the end');
done_testing;
