#!/usr/bin/perl
# The README's tour, run exactly as written: the commands of the fenced
# blocks marked <!-- tour ... --> in README.md, in order, by bash, from the
# checkout, with HOME a fresh temporary folder.  It must cross the end of the
# period live (the record ends, a new application is refused), leave its
# files under ~/liud-tour and nothing in the checkout.
#
# Then what a daemon says at start about its clock: on the system clock,
# past every deadline of the pack, its first lines say the periods are over
# and how to see the pack in force; on a test clock before a deadline the
# database had enforced, it warns that the deadline runs again.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

sub slurp { my $f = shift; open my $h, '<', $f or return ''; local $/; my $t = <$h>; return $t // '' }

# The tour's commands.
my @blocks;
{
	my ($marked, $in);
	for (split /\n/, slurp('README.md')) {
		if (/^<!-- tour\b/) { $marked = 1; next }
		if ($marked && !$in && /^```/) { $in = 1; push @blocks, ''; next }
		if ($in && /^```/) { $in = $marked = 0; next }
		$blocks[-1] .= "$_\n" if $in;
	}
}
cmp_ok(scalar @blocks, '>=', 3, scalar(@blocks) . ' marked blocks in README.md');
my $script = join '', @blocks;
like($script, qr/--test-clock/, 'the tour starts its daemon on a test clock');
like($script, qr/--db ~\/liud-tour\//, 'with a database of its own, outside the checkout');
like(slurp('README.md'), qr/Stop `make run` first/, 'and the README says to stop make run first');

my $dir = tempdir('liud-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);
SKIP: {
	skip 'the tour runs the checkout\'s plain build (bin/)', 9
		if $ENV{LIUD_SAN} || $ENV{LIUD_VALGRIND};
	my $home = tempdir('liud-tour-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	open my $f, '>', "$home/tour.sh" or die;
	print $f $script;
	close $f;
	my $git_before = `git status --porcelain --untracked-files=all 2>/dev/null`;
	my $out;
	{
		local $ENV{HOME} = $home;
		# A make of our own, not a job of the one running the suite.
		local @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL)};
		delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL LIUD_SOCKET)};
		# Into a file: the daemon it starts keeps the output open.
		system("timeout 180 bash $home/tour.sh > $home/tour.out 2>&1");
		$out = slurp("$home/tour.out");
	}
	# The tour ends with kill %1: let its daemon finish stopping (and stop
	# it if the tour broke off before).
	my $log = "$home/liud-tour/liud.log";
	my $until = time + 20;
	sleep 0.1 while time < $until && slurp($log) !~ /liud: stopped/;
	like(slurp($log), qr/liud: stopped/, 'the tour\'s daemon stopped at its end') or diag(slurp($log));
	if (slurp($log) !~ /liud: stopped/ && slurp($log) =~ /liud: started .* pid=(\d+)/) {
		kill 'KILL', $1;
	}

	my ($before, $after) = split /^clock: 2025-03-31T23:59:58/m, $out, 2;
	ok(defined $after, 'the tour set the test clock before the deadline') or diag($out);
	$after //= '';
	like($before, qr/^LIU-000001\s+application\s+submitted/m, 'an application registered in the period');
	like($before, qr/^ok: LIU-000001 rev 2 state confirmed/m, 'and confirmed');
	like($after, qr/^LIU-000001\s+application\s+ended/m, 'crossing the deadline live ended it');
	like($after, qr/refused by a rule/, 'and a new application is refused after it');
	like($after, qr/audit chain holds/, 'the audit chain verifies');
	ok(-s "$home/liud-tour/list.csv" && -s "$home/liud-tour/list.html", 'its files are under ~/liud-tour');
	is(`git status --porcelain --untracked-files=all 2>/dev/null`, $git_before,
	   'and nothing in the checkout changed');
	# Its database, whose pack is activated already (a start without the
	# pack's tests), for what follows.
	system('cp', '-a', "$home/liud-tour/db", "$dir/db");
}

# A daemon on the system clock, past every deadline: the first lines say so.
my $d = Liud::start_daemon(dir => $dir, conf => 'etc/liud.conf');
my @lines = split /\n/, $d->log_text;
my $first = join "\n", @lines[0 .. ($#lines < 3 ? $#lines : 3)];
like($first, qr/every period of the rule pack is over.*title="[^"]*ISMAP-LIU registration special measure"/,
     'on today\'s date the first lines say the periods are over, in the pack\'s words') or diag($d->log_text);
like($first, qr/to see the pack in force, run a drill .*test clock/, 'and how to see it in force');
$d->stop;

# The same database on a test clock before the deadline it enforced: a warning.
$d = Liud::start_daemon(dir => $dir, conf => 'etc/liud.conf', clock => '2025-03-31T23:50:00+09:00');
like($d->log_text, qr/warn\s+sched: clock is before an enforced deadline, which runs again when it passes .*clock=test enforced_at=\S+/,
     'a test clock before a deadline the database enforced warns at start');
unlike((split /TEST CLOCK/, $d->log_text, 2)[1] // '', qr/every period of the rule pack is over/,
       'and does not say the periods are over');
$d->stop;
done_testing;
