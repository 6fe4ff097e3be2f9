#!/usr/bin/perl
# The ISMAP-LIU pack read against the notice, through a real daemon, where the
# point is the daemon's reply: the service list's 「ISMAP管理基準への適合状況」
# column, eval at an instant before a confirmation, the notice's names of the
# assessing bodies, and the policy role (制度所管省庁, who makes the list)
# reading the list as a real Unix user.  The pack's own tests
# (rules/ismap-liu/tests/60-notice.lua) cover the rest clause by clause.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use JSON::PP;

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

my $dir = tempdir('liud-notice-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $policy_user;
if ($> == 0) {
	# A policy user through a supplementary group, as 60-trust.t makes them.
	system('groupadd', '--system', 'liut-policy') unless getgrnam('liut-policy');
	system('groupadd', '--system', 'liut-none') unless getgrnam('liut-none');
	system('useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin',
	       '-g', 'liut-none', '-G', 'liut-policy', 'liut-pol') unless getpwnam('liut-pol');
	$policy_user = 'liut-pol' if getpwnam('liut-pol');
	chmod 0755, $dir;
	copy('tests/tools/call.pl', "$dir/call.pl") or die;
	chmod 0755, "$dir/call.pl";
}
open my $cf, '>', "$dir/liud.conf" or die;
print $cf <<'CONF';
socket_mode = "0666"
roles = {
  admin = { users = { "root" } },
  policy = { groups = { "liut-policy" } },
}
CONF
close $cf;

my $d = Liud::start_daemon(dir => $dir, conf => "$dir/liud.conf", clock => '2024-06-01T10:00:00+09:00');

# --- 「ISMAP管理基準への適合状況」: a statement, no audit, exclusions named ------------

my $app = Liud::good_app(service_name => '除外ありSaaS');
$app->{statement}{controls}{$_} = { excluded => '該当業務なし' } for qw(9.2.3 6.1.1 12.6.1);
$app->{impact_assessment}{assessor_type} = '国の行政機関';     # the notice's name
my $id = $d->ok_call('act', { action => 'submit', params => $app })->{record}{id};
is($d->ok_call('record.get', { id => $id })->{data}{impact_assessment}{assessor_type}, 'national_agency',
   'the notice\'s 「国の行政機関」 is stored as its code');
$d->ok_call('act', { action => 'confirm', id => $id });

my $rows = $d->ok_call('view', { name => 'service-list', params => { lang => 'ja' } })->{rows};
is(scalar @$rows, 1, 'the confirmed service is listed');
is($rows->[0]{compliance},
   '言明（監査なし）: ISMAP管理基準（令和4年4月1日版）のガバナンス基準・マネジメント基準 全項目、' .
   '統制目標 121 中 118（除外: 6.1.1、9.2.3、12.6.1）、詳細管理策（B）全項目（除外した統制目標の下の 3 件を除く）',
   'the conformity column says it is a statement with no audit, part by part, naming what was excluded');
unlike($rows->[0]{compliance}, qr/R1|満たす/, 'no pack jargon and no 「満たす」 in the column');
my $csv = $d->ok_call('view', { name => 'service-list', format => 'csv' });
like(ref $csv ? encode_json($csv) : $csv, qr/統制目標 121 中 118/, 'the same in the CSV');

# --- eval at an instant before the confirmation -----------------------------------

my $before = $d->ok_call('eval', { id => $id, at => '2024-05-31T23:59:59+09:00' });
is($before->{incentives}{audit_scope}{available}, JSON::PP::false,
   'eval --at before the confirmation: incentive ① not available (the record was not confirmed then)');
is($before->{incentives}{internal_audit_report}{available}, JSON::PP::false, '... nor ②');
my $now = $d->ok_call('eval', { id => $id });
is($now->{incentives}{audit_scope}{available}, JSON::PP::true, 'and available now, after it');

# --- the policy role (制度所管省庁) reads the list -----------------------------------

SKIP: {
	skip 'needs root to create a test user', 2 unless $policy_user;
	my @cmd = ('setpriv', "--reuid=$policy_user", '--regid=liut-none', '--init-groups',
		   'perl', "$dir/call.pl", $d->{sock}, 'view', encode_json({ name => 'service-list' }));
	open my $p, '-|', @cmd or die "setpriv: $!";
	my $line = <$p>;
	close $p;
	my $r = decode_json($line // '{}');
	ok(!$r->{error}, 'the policy role may read the service list') or diag($line);
	is(scalar @{ $r->{result}{rows} // [] }, 1, 'with its row');
}

is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
