#!/usr/bin/perl
# A request line begun and never ended is closed after request_timeout_s and
# logged: a client causes that at will (a byte, then silence, on as many
# connections as it may hold, again and again), so those lines are
# rate-limited like refused connections and forbidden calls, with a count.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);

my $tmp = tempdir('liud-tolog-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $cf, '>', "$tmp/liud.conf" or die;
print $cf "limits = { request_timeout_s = 1 }\nlog_rate = { lines_per_s = 1, burst = 5 }\n";
close $cf;
my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini', conf => "$tmp/liud.conf");

my @held;
for (1 .. 40) {
	my $s = $d->connect;
	print $s '{';
	$s->flush;
	push @held, $s;
}
sleep 2.5; # past the request timeout: all 40 are closed
my $closed = 0;
for my $s (@held) { my $l = <$s>; $closed++ if defined $l && $l =~ /-32007/ }
is($closed, 40, 'every begun request is closed with -32007 after request_timeout_s');
my $r = $d->call('status');
ok($r->{result}, 'the daemon answers');
my @lines = $d->log_text =~ /request timeout, connection closed/g;
cmp_ok(scalar @lines, '<=', 6, 'request timeouts are logged within the burst (' . scalar(@lines) . ' lines for 40)');
$d->stop;
like($d->log_text, qr/suppressed.*kind=request_timeout/, 'the rest are counted in one line');
done_testing;
