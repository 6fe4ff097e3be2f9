#!/usr/bin/perl
# The head of a log line: times in the configured zone (JST unless
# liud.conf's log_time_zone says otherwise), a test clock's time labelled as
# test time with the real time beside it, and under journald (JOURNAL_STREAM
# names stderr) the syslog priority as a "<N>" prefix and no timestamp of
# our own, so that `journalctl -p warning` picks the warnings out.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use POSIX qw(strftime);

my $TS = qr/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}/;

sub conf_file {
	my ($dir, $text) = @_;
	open my $f, '>', "$dir/liud.conf" or die;
	print $f $text;
	close $f;
	return "$dir/liud.conf";
}

# --- the system clock: JST by default --------------------------------------------------
{
	my $d = Liud::start_daemon(rules => 'tests/packs/mini');
	ok($d->alive, 'daemon up') or BAIL_OUT($d->log_text);
	my $jst_day = strftime('%Y-%m-%d', gmtime(time + 9 * 3600));
	my ($first) = $d->log_text =~ /^(.*liud: started.*)$/m;
	like($first, qr/^$TS\+09:00 info  liud: started /, 'a line is stamped in JST by default');
	unlike($d->log_text, qr/^$TS\d*Z /m, 'no line in UTC');
	unlike($d->log_text, qr/ test-clock real=/, 'no test label on the system clock');
	my ($day) = $first =~ /^(\d{4}-\d\d-\d\d)/;
	my $jst_later = strftime('%Y-%m-%d', gmtime(time + 9 * 3600));
	ok($day eq $jst_day || $day eq $jst_later, "the date is Japan's ($day)");
	is($d->stop, 0, 'stops');
}

# --- log_time_zone ----------------------------------------------------------------------
{
	my $dir = tempdir('liud-lt-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $d = Liud::start_daemon(dir => $dir, rules => 'tests/packs/mini',
				   conf => conf_file($dir, qq{log_time_zone = "UTC"\n}));
	like($d->log_text, qr/^${TS}Z info  liud: started /m, 'log_time_zone = "UTC": stamped in UTC');
	$d->stop;
	my $dir2 = tempdir('liud-lt-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	$d = Liud::start_daemon(dir => $dir2, rules => 'tests/packs/mini',
				conf => conf_file($dir2, qq{log_time_zone = "-03:30"\n}));
	like($d->log_text, qr/^$TS-03:30 info  liud: started /m, 'an offset: stamped with it');
	$d->stop;
	my $dir3 = tempdir('liud-lt-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	$d = Liud::start_daemon(dir => $dir3, rules => 'tests/packs/mini', expect_exit => 1,
				conf => conf_file($dir3, qq{log_time_zone = "Mars/Olympus"\n}));
	isnt($d->{exit}, 0, 'a zone it does not know: the daemon does not start');
	like($d->log_text, qr/log_time_zone 'Mars\/Olympus': use JST, UTC or an offset/,
	     'and says which setting and what it takes');
}

# --- a test clock: its time, labelled, with the real time --------------------------------
{
	my $d = Liud::start_daemon(rules => 'tests/packs/mini', clock => '2024-06-01');
	my $log = $d->log_text;
	like($log, qr/^2024-06-01T00:00:0\d\.\d{3}\+09:00 test-clock real=$TS\+09:00 info  liud: started /m,
	     'a test clock: the test time first, labelled, then the real time');
	my ($real) = $log =~ /test-clock real=(\d{4})/;
	cmp_ok($real, '>=', 2025, 'the real time is the real one');
	$d->ok_call('clock.set', { now => '2025-04-01T10:00:00+09:00' });
	like($d->log_text, qr/^2025-04-01T10:00:0\d\.\d{3}\+09:00 test-clock real=$TS\+09:00 info  clock: set /m,
	     'after clock.set, lines carry the new test time');
	$d->stop;
}

# --- journald: priorities, no timestamp ---------------------------------------------------
{
	my $dir = tempdir('liud-lj-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	open my $f, '>', "$dir/liud.log" or die; # the stream journald would hand it
	close $f;
	my @st = stat "$dir/liud.log";
	local $ENV{JOURNAL_STREAM} = "$st[0]:$st[1]";
	my $d = Liud::start_daemon(dir => $dir, rules => 'tests/packs/mini', clock => '2024-06-01');
	my $log = $d->log_text;
	like($log, qr/^<4>test-clock=2024-06-01T00:00:0\d\.\d{3}\+09:00 warn  liud: TEST CLOCK in use/m,
	     'a warning: <4>, the test time labelled, no real time (journald stamps it)');
	like($log, qr/^<6>test-clock=\S+ info  liud: started /m, 'an info line: <6>');
	my @bad = grep { !/^<[3467]>/ } split /\n/, $log;
	is(scalar @bad, 0, 'every line starts with its priority') or diag(join "\n", @bad[0 .. 2]);
	unlike($log, qr/real=/, 'and carries no second timestamp');
	$d->stop;
	# JOURNAL_STREAM of another stream (stderr redirected under the unit): plain lines.
	my $dir2 = tempdir('liud-lj-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	local $ENV{JOURNAL_STREAM} = "1:1";
	$d = Liud::start_daemon(dir => $dir2, rules => 'tests/packs/mini');
	like($d->log_text, qr/^$TS\+09:00 info  liud: started /m,
	     'JOURNAL_STREAM naming another stream: timestamps, no prefix');
	$d->stop;
}
done_testing;
