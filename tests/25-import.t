#!/usr/bin/perl
# The import method: many applications at once, each validated by the pack;
# all-or-nothing in one transaction, or per row with a report.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;

my $d = Liud::start_daemon(clock => '2024-06-01T10:00:00+09:00');
my @rows = map { Liud::good_app(service_name => "サービス$_") } 1 .. 20;
my $bad = Liud::good_app(service_name => 'bad');
$bad->{impact_assessment}{assessed_on} = '2023-02-30';

my $e = $d->call('import', { action => 'submit', rows => [ @rows[0 .. 9], $bad, @rows[10 .. 19] ] });
is($e->{error}{code}, -32602, 'atomic import with one invalid row is refused');
like($e->{error}{message}, qr/nothing was written: 1 of 21 rows fail; row 10/, 'naming the row');
is($e->{error}{data}{failed}[0]{data}{field}, 'impact_assessment.assessed_on', 'and the field');
is($d->ok_call('status')->{records}{application}, undef, 'nothing was written');

my $r = $d->ok_call('import', { action => 'submit', rows => [ @rows[0 .. 9], $bad, @rows[10 .. 19] ], atomic => JSON::PP::false });
is($r->{created}, 20, 'per-row import writes the 20 good rows');
is(scalar @{ $r->{failed} }, 1, 'and reports the bad one');
is($r->{failed}[0]{row}, 10, 'by its index');
is($d->ok_call('status')->{records}{application}{submitted}, 20, 'all 20 stored');
my $h = $d->ok_call('history', { id => $r->{ids}[0] })->{entries};
is($h->[0]{method}, 'import', 'each with its audit entry');

$r = $d->ok_call('import', { action => 'submit', rows => [ map { Liud::good_app(service_name => "サービス$_") } 21 .. 25 ] });
is($r->{created}, 5, 'atomic import of good rows writes them all');
$r = $d->ok_call('import', { action => 'submit', rows => [ @rows[0 .. 4] ] });
is_deeply([ $r->{created}, $r->{skipped_count} ], [ 0, 5 ], 'rows already recorded (same service, same content) are skipped');
$e = $d->call('import', { action => 'confirm', rows => [ $rows[0] ] });
is($e->{error}{code}, -32602, 'only a creating action may import');
$e = $d->call('import', { action => 'submit', rows => [] });
is($e->{error}{code}, -32602, 'an empty import is invalid');
ok($d->ok_call('audit.verify')->{ok}, 'the audit chain holds');
done_testing;
