#!/usr/bin/perl
# The metrics method: Prometheus text that a real parser (the Python
# prometheus_client, Debian's package) accepts, with the families operators
# need, and counters that follow what happened; the gauges an operator
# alerts on (build, next deadline, last backup), and the textfile-collector
# script of the installed timer.
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
$d->ok_call('backup', { path => "$tmp/backup1" });
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

# --- the gauges an operator alerts on ---------------------------------------------------
my ($build) = grep { /^liud_build_info\{/ } keys %v;
like($build // '', qr/clock=test,rules_version=[0-9a-f]{64},version=\d+\.\d+/, 'build info: version, rules version, clock');
cmp_ok($v{$build // ''} // -1, '==', 1, 'with the value 1');
# the mini pack's window ends 2024-12-31 (JST): its deadline is 2025-01-01T00:00+09:00
cmp_ok($v{'liud_next_deadline_timestamp_seconds{}'} // -1, '==', 1735657200, 'the next deadline, Unix time');
my $left = $v{'liud_next_deadline_seconds{}'};
ok(defined $left && $left > 0 && $left <= 1735657200 - 1717167600, "seconds to it on the daemon's clock ($left)");
my $bt = $v{'liud_last_backup_timestamp_seconds{}'};
my $clk = $v{'liud_clock_seconds{}'} // 0;
ok($bt && $bt >= 1717167600 && $bt <= $clk, "the last backup, on the daemon's (test) clock as the other gauges ($bt)")
	or diag("clock $clk, real time " . time);
ok($v{'liud_last_backup_bytes{}'} > 0, 'and its size');
cmp_ok($v{'liud_backup_failures_total{}'} // -1, '==', 0, 'no backup failed');
is($v{'type:liud_backup_failures'}, 'counter', 'failures are a counter');
$d->call('backup', { path => "$tmp/backup1" }); # not empty: refused before any copy
$d->call('backup', { path => "/proc/liud-no-such/x" });

# --- the textfile collector's script ------------------------------------------------------
my $bin = Liud::bin_dir();
my $rc = system("LIUCTL=$bin/liuctl LIUD_SOCKET=$d->{sock} LIUD_BACKUPS=$tmp contrib/liud-metrics-textfile $tmp/liud.prom");
is($rc, 0, 'liud-metrics-textfile runs');
ok(-f "$tmp/liud.prom" && !glob("$tmp/liud.prom.tmp.*"), 'and leaves the file, no temporary');
my $prom = do { local (@ARGV, $/) = "$tmp/liud.prom"; <> } // '';
like($prom, qr/^liud_textfile_up 1$/m, 'the daemon answered');
like($prom, qr/^liud_requests_total\{method="act",outcome="ok"\} 5$/m, 'with its metrics');
my ($newest) = $prom =~ /^liud_backup_newest_timestamp_seconds (\d+)$/m;
ok($newest && abs($newest - time) < 60, 'and the newest backup folder\'s time (its file\'s, real time)');
my $parsed = `$py -c 'import sys; from prometheus_client.parser import text_string_to_metric_families as t; print(sum(1 for _ in t(open(sys.argv[1]).read())))' $tmp/liud.prom`;
ok($? == 0 && $parsed > 10, 'the file parses as Prometheus text');
$rc = system("LIUCTL=$bin/liuctl LIUD_SOCKET=$tmp/no.sock LIUD_BACKUPS=$tmp/none contrib/liud-metrics-textfile $tmp/down.prom");
my $down = do { local (@ARGV, $/) = "$tmp/down.prom"; <> } // '';
like($down, qr/^liud_textfile_up 0$/m, 'no daemon: the file says so');
like($down, qr/^liud_backup_newest_timestamp_seconds 0$/m, 'no backup folder: 0');
my $timer = do { local (@ARGV, $/) = 'contrib/systemd/liud-metrics.timer'; <> } // '';
like($timer, qr/^OnUnitActiveSec=30s$/m, 'the timer runs it every 30 s');
SKIP: {
	skip 'systemd-analyze is not installed', 1 unless system('command -v systemd-analyze >/dev/null') == 0;
	my $u = "$tmp/units";
	mkdir $u;
	system("sed -e 's|\@LIBEXECDIR\@|$ENV{PWD}/contrib|' -e 's|\@BINDIR\@|/usr/bin|' contrib/systemd/liud-metrics.service.in > $u/liud-metrics.service");
	system("cp contrib/systemd/liud-metrics.timer $u/");
	my $v = `systemd-analyze verify $u/liud-metrics.timer $u/liud-metrics.service 2>&1`;
	unlike($v, qr/liud-metrics\.(?:timer|service):\d+/, 'systemd-analyze verify: the units read cleanly') or diag($v);
}
$d->stop;
done_testing;
