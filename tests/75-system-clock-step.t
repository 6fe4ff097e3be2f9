#!/usr/bin/perl
# The system clock stepped back on a real host (an operator, NTP): the
# daemon, on the system clock (no --test-clock), logs a warning with the
# step.  tests/tools/clockshift.so, preloaded, steps this one process's
# CLOCK_REALTIME back; its monotonic clock runs on, as a host's does.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

my $SHIM = ($ENV{LIUD_TOOLS} // 'build/rel/tests') . '/clockshift.so';
plan skip_all => "$SHIM not built (make unit)" unless -e $SHIM;
plan skip_all => "valgrind runs the daemon: nothing to preload into" if $ENV{LIUD_VALGRIND};
my $tmp = tempdir('liud-cs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
sub shift_back { open my $f, '>', "$tmp/shift" or die; print $f "$_[0]\n"; close $f }
shift_back(0);
local $ENV{CLOCKSHIFT_FILE} = "$tmp/shift";
local $ENV{LD_PRELOAD} = $SHIM;
# A sanitized daemon links its runtime dynamically: it must allow a
# preloaded library before it.
local $ENV{ASAN_OPTIONS} = join ':', grep { length } $ENV{ASAN_OPTIONS} // '', 'verify_asan_link_order=0';
my $d = Liud::start_daemon(rules => 'tests/packs/mini');
ok($d->alive, 'a daemon on the system clock');
my $id = $d->ok_call('act', { action => 'create', params => { text => 'before the step' } })->{record}{id};
shift_back(3600);
my $t0 = time;
my $re = qr/warn +clock: stepped back by (\d+) ms from=\S+ to=\S+ clock=system/;
sleep 0.1 until $d->log_text =~ $re || time - $t0 > 10;
my ($ms) = $d->log_text =~ $re;
ok(defined $ms, 'the step back is logged as a warning, naming the system clock') or diag($d->log_text);
ok(defined $ms && $ms > 3_590_000 && $ms < 3_610_000, 'with its size (' . ($ms // '?') . ' ms for an hour)');
ok($d->ok_call('record.get', { id => $id }), 'the daemon goes on');
ok($d->ok_call('audit.verify')->{ok}, 'and its audit chain holds');
$d->stop;
is($d->{signal}, 0, 'and stops cleanly');
done_testing();
