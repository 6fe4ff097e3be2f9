#!/usr/bin/perl
# `deadlines --all` counts the records a deadline changed, not its changes:
# one record that several hooks change at the deadline (applied from staged
# enforcement) is one record.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use Time::HiRes qw(sleep time);

sub wait_for { my ($cond, $secs) = @_; my $end = time + $secs; while (time < $end) { return 1 if $cond->(); sleep 0.05 } return 0 }

my $d = Liud::start_daemon(clock => '2025-03-31T23:00:00+09:00');
my $id = $d->ok_call('act', { action => 'submit', params => Liud::good_app(service_name => 'SaaS one') })->{record}{id};
$d->ok_call('act', { action => 'confirm', id => $id });
$d->ok_call('act', { action => 'use_incentive', id => $id, params => { incentive => 'audit_scope', used_on => '2025-03-31' } });
ok(wait_for(sub { my $s = $d->ok_call('status')->{staging}; $s->{done} && $s->{records_ready} == 1 }, 20),
   'the one record is staged');
$d->ok_call('clock.set', { now => '2025-04-01T00:00:00+09:00' });
$d->ok_call('enforce', {});
my $h = $d->ok_call('history', { id => $id })->{entries};
my ($dl) = grep { $_->{enforced} } @{ $d->ok_call('deadlines', { all => JSON::PP::true })->{deadlines} };
ok($dl, 'the deadline is listed as enforced');
is($dl->{records_affected}, 1, 'one record affected') or diag explain $dl, $h;
my $out = `${\ Liud::bin_dir()}/liuctl --socket $d->{sock} deadlines --all 2>&1`;
like($out, qr/^\S+ \S+\s+special-measure\s+1\s+enforced/m, 'liuctl deadlines --all shows RECORDS 1') or diag $out;
$d->stop;
done_testing;
