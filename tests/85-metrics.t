#!/usr/bin/perl
# The metrics method: Prometheus text that a real parser (the Python
# prometheus_client, Debian's package) accepts, with the families operators
# need, and counters that follow what happened.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

my $py = '/usr/bin/python3';
plan skip_all => 'python3-prometheus-client is not installed (make test installs it)'
	unless -x $py && system($py, '-c', 'import prometheus_client') == 0;
my $tmp = tempdir('liud-metrics-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini');
$d->ok_call('act', { action => 'create', params => { text => "n$_" } }) for 1 .. 5;
$d->call('record.get', { id => 'N-999999' });
$d->call('nope');
$d->ok_call('eval', { id => 'N-000001' });
my $text = $d->ok_call('metrics');
open my $f, '>', "$tmp/m.txt" or die;
print $f $text;
close $f;

# Parse with the reference client's parser; print "family type sample value" lines.
my $out = `$py - "$tmp/m.txt" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(fam.name, fam.type, s.name, labels, s.value)
PY`;
is($? >> 8, 0, 'the exposition parses as Prometheus text');
my %v;
for (split /\n/, $out) { my ($fam, $type, $name, $labels, $val) = split / /; $v{"$name\{$labels}"} = $val; $v{"type:$fam"} = $type }
is($v{'type:liud_requests'}, 'counter', 'liud_requests_total is a counter');
cmp_ok($v{'liud_requests_total{method=act,outcome=ok}'}, "==", 5, 'five acts counted as ok');
cmp_ok($v{'liud_requests_total{method=record.get,outcome=not_found}'}, "==", 1, 'a not-found read counted by outcome');
cmp_ok($v{'liud_requests_total{method=(invalid),outcome=unknown_method}'}, "==", 1, 'an unknown method counted');
is($v{'type:liud_request_duration_seconds'}, 'histogram', 'latency is a histogram');
cmp_ok($v{'liud_request_duration_seconds_count{method=act}'}, "==", 5, 'with a count per method');
ok($v{'liud_request_duration_seconds_bucket{le=+Inf,method=act}'} == 5, 'and buckets up to +Inf');
cmp_ok($v{'liud_records{kind=note,state=open}'}, "==", 5, 'records by kind and state');
ok($v{'liud_db_used_bytes{}'} > 0 && $v{'liud_db_map_bytes{}'} >= $v{'liud_db_used_bytes{}'}, 'database size and map');
ok($v{'liud_committed_writes_total{}'} >= 5, 'committed writes');
ok(exists $v{'liud_connections{}'}, 'connections');
ok(exists $v{'liud_enforcement_runs_total{}'}, 'enforcement runs');
ok($v{'liud_rule_calls_total{}'} >= 6, 'rule calls');
ok(exists $v{'liud_rule_failures_total{}'}, 'rule failures');
cmp_ok($v{'liud_rule_invocations_total{class=action,rule=create}'}, "==", 5, 'per-rule counters (the pack tests at start not counted)');
ok(exists $v{'liud_rule_invocation_seconds_total{class=action,rule=create}'}, 'with the time spent');
my ($info) = grep { /^liud_rules_info\{/ } keys %v;
like($info, qr/version=[0-9a-f]{64}/, 'the live rules version');
done_testing;
