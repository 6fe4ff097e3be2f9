#!/usr/bin/perl
# One service, one live record, through a real daemon (issue of the notice,
# items 1–3, and the import's idempotence): a kind's identity (法人番号 or
# provider, and the service name, normalised) is kept in the store with the
# record's own write, so two submissions of one service sent together cannot
# both pass, a restart keeps it, incentive uses stay with the service, and an
# import of rows already recorded writes nothing new and takes no id.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Encode qw(decode encode);
use JSON::PP;

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
delete $ENV{LIUD_SOCKET};
my $tmp = tempdir('liud-ident-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $LIUCTL = Liud::bin_dir() . '/liuctl';

my $d = Liud::start_daemon(dir => $tmp, clock => '2024-06-01T10:00:00+09:00');

# --- two submissions of one service, sent together --------------------------------
my $app = Liud::good_app(service_name => 'クラウド会計SaaS');
my $twin = Liud::good_app(service_name => 'ｸﾗｳﾄﾞ会計 saas');   # the same service, written otherwise
my @r = $d->pipeline('act', { action => 'submit', params => $app }, { action => 'submit', params => $twin });
ok($r[0]{result}, 'the first submission is written');
my $id = $r[0]{result}{record}{id};
is($r[1]{error}{code}, -32004, 'the second, sent before the first was durable, is refused');
like($r[1]{error}{data}{reasons}[0]{ja} // "", qr/有効な記録 \Q$id\E/, '... naming the record the service has');

# Two connections at once: one passes.
my @s = map { $d->connect } 1 .. 2;
my $other = Liud::good_app(service_name => '電子契約SaaS');
for my $i (0, 1) {
	my $s = $s[$i];
	print $s JSON::PP->new->utf8->encode({ jsonrpc => '2.0', id => $i + 1, method => 'act',
		params => { action => 'submit', params => $other } }), "\n";
}
my @rep = map { my $s = $_; my $l = <$s>; close $s; JSON::PP->new->utf8->decode($l) } @s;
is(scalar(grep { $_->{result} } @rep), 1, 'two connections submitting one service at once: exactly one passes');

# --- confirmed, ① used, withdrawn, re-applied: ① stays used ----------------------
$d->ok_call('act', { action => 'confirm', id => $id });
$d->ok_call('act', { action => 'use_incentive', id => $id, params => { incentive => 'audit_scope', used_on => '2024-06-01' } });
my $list = $d->ok_call('view', { name => 'service-list' })->{rows};
is(scalar(grep { ($_->{service_name} // '') eq 'クラウド会計SaaS' } @$list), 1, 'the service is listed once');
$d->ok_call('act', { action => 'withdraw', id => $id });

# The identity survives a restart (it is in the store, not only in memory).
$d->stop;
$d->start;
my $id2 = $d->ok_call('act', { action => 'submit', params => $twin })->{record}{id};
isnt($id2, $id, 'withdrawn, the service may apply again');
$d->ok_call('act', { action => 'confirm', id => $id2 });
my $ev = $d->ok_call('eval', { id => $id2 });
is($ev->{incentives}{audit_scope}{available}, JSON::PP::false, '① stays used for the service after a restart and a new record');
my $u = $d->call('act', { action => 'use_incentive', id => $id2, params => { incentive => 'audit_scope', used_on => '2024-06-01' } });
like($u->{error}{data}{reasons}[0]{en} // '', qr/already used by this service on 2024-06-01 \(once only; on record \Q$id\E\)/,
     '... and a second use is refused, naming the record that used it');
my $again = $d->call('act', { action => 'submit', params => $app });
like(encode_json($again->{error} // {}), qr/\Q$id2\E/, 'after the restart a live service is still refused, naming its record');

# An amend of what R1–R4 read sends the confirmed record back, with the reason in its history.
my $am = $d->ok_call('act', { action => 'amend', id => $id2, params => { planned_liu_application => '2024-12' } });
is($am->{record}{state}, 'submitted', 'an amend of the plan takes a confirmed record back to submitted');
my ($ev_r) = grep { $_->{type} eq 'reconfirmation_needed' } @{ $d->ok_call('history', { id => $id2 })->{entries}[-1]{events} };
like($ev_r->{reason} // '', qr/改めて要件の確認が必要です/, '... and its history says why');
like($ev_r->{reason} // '', qr/^確認済みの申請の「ISMAP-LIU 申請（事前申請を含む）の予定時期」が変更されたため/, '... naming the field in words');
like($ev_r->{reason_en} // '', qr/^the confirmed application's planned ISMAP-LIU application \(pre-application included\) changed: /,
     '... in English too, not by its code');
is(scalar(grep { ($_->{service_name} // '') =~ /会計/ } @{ $d->ok_call('view', { name => 'service-list' })->{rows} }), 0, '... off the list until confirmed again');
my $ren = $d->call('act', { action => 'amend', id => $id2, params => { service_name => '別のSaaS' } });
is($ren->{error}{code}, -32004, 'the service name never changes by amend');

# --- import: rows already recorded are skipped, a refused import takes no id -----------
sub ctl {
	my ($stdin, @args) = @_;
	my $pid = fork // die;
	if ($pid == 0) {
		open STDIN, '<', $stdin or die;
		open STDOUT, '>', "$tmp/out" or die;
		open STDERR, '>', "$tmp/err" or die;
		exec $LIUCTL, '--socket', $d->{sock}, @args or exit 127;
	}
	waitpid($pid, 0);
	my $rc = $? >> 8;
	local $/;
	open my $o, '<', "$tmp/out"; my $out = <$o> // '';
	open my $e, '<', "$tmp/err"; my $err = <$e> // '';
	return ($rc, decode('UTF-8', $out), decode('UTF-8', $err));
}
my $jl = JSON::PP->new->utf8->canonical;
open my $f, '>', "$tmp/rows.jsonl" or die;
print $f $jl->encode(Liud::good_app(service_name => "取込SaaS $_")), "\n" for 1 .. 3;
close $f;
my ($rc, $out, $err) = ctl("$tmp/rows.jsonl", 'import', '-');
is($rc, 0, 'a first import writes its rows') or diag $err;
like($out, qr/imported 3 of 3 rows/, '... all three');
my @ids = $out =~ /\(([A-Z]+-\d+) to ([A-Z]+-\d+)\)/;
($rc, $out, $err) = ctl("$tmp/rows.jsonl", 'import', '-');
is($rc, 0, 'importing the same file again succeeds') or diag $err;
like($out, qr/imported 0 of 3 rows/, '... writes nothing new');
like($out, qr/skipped 3 rows already recorded with the same content: line 1 \(\Q$ids[0]\E\), line 2 \(\S+\), line 3 \(\Q$ids[1]\E\)/,
     '... and says which rows it skipped, and their records');
is(scalar(grep { ($_->{service_name} // '') =~ /^取込SaaS/ } @{ $d->ok_call('view', { name => 'service-list' })->{rows} }), 0,
   '(none of them confirmed: nothing listed)');
my $n_before = scalar @{ $d->ok_call('record.list', { kind => 'application' })->{records} };

# An all-or-nothing import that is refused takes no id: the next record gets the next one.
open $f, '>', "$tmp/bad.jsonl" or die;
print $f $jl->encode(Liud::good_app(service_name => "新SaaS $_")), "\n" for 1 .. 3;
print $f $jl->encode({ service_name => '名前だけ' }), "\n";
close $f;
($rc, $out, $err) = ctl("$tmp/bad.jsonl", 'import', '-');
isnt($rc, 0, 'an import with a bad row is refused');
my $next = $d->ok_call('act', { action => 'submit', params => Liud::good_app(service_name => '次のSaaS') })->{record}{id};
my ($p, $num) = $ids[1] =~ /^(.*?)(\d+)$/;
my ($p3) = $next =~ /(\d+)$/;
is($p3 + 0, $num + 1, 'the refused import took no record id (the next record follows the last written)');
is(scalar @{ $d->ok_call('record.list', { kind => 'application' })->{records} }, $n_before + 1, 'and wrote nothing');
# --- a record without its 法人番号 is the same service as one with it --------------------
# Whatever the record lacks, the service has one live record: in either order,
# by act or by import.
my $bare = Liud::good_app(service_name => '番号なしSaaS');
delete $bare->{provider_corporate_number};
my $bare_id = $d->ok_call('act', { action => 'submit', params => $bare })->{record}{id};
my $numbered = $d->call('act', { action => 'submit', params => Liud::good_app(service_name => '番号なしSaaS') });
is($numbered->{error}{code}, -32004, 'the numbered record of a service whose record lacks the 法人番号 is refused')
	or diag explain $numbered;
like(encode_json($numbered->{error}), qr/\Q$bare_id\E/, '... naming the live record');
open $f, '>', "$tmp/numbered.jsonl" or die;
print $f $jl->encode(Liud::good_app(service_name => '取込番号SaaS')), "\n";
close $f;
($rc, $out, $err) = ctl("$tmp/numbered.jsonl", 'import', '-');
like($out, qr/imported 1 of 1 row\b/, "a numbered service imported") or diag "$out $err";
my $bare2 = Liud::good_app(service_name => '取込番号SaaS');
delete $bare2->{provider_corporate_number};
is($d->call('act', { action => 'submit', params => $bare2 })->{error}{code}, -32004,
   'then the same service without its 法人番号 is refused (the import wrote where it meets it)');

ok($d->ok_call('audit.verify')->{ok}, 'the audit chain verifies');
$d->stop;
done_testing;
