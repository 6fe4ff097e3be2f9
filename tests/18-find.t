#!/usr/bin/perl
# Finding and reading records as a clerk does:
# `record get` shows a summary first (the service, provider, 法人番号, dates,
# decision and failing checks, incentives, the statement as counts with the
# exclusions named), the whole record with --full, JSON in sorted key order;
# `record list` finds by service, provider and 法人番号 without regard to
# case or full/half width, filters by decision and date range, sorts, shows
# PROVIDER and DECISION, and refuses an unknown state or kind.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;
use Encode qw(decode);
use File::Temp qw(tempdir);
use JSON::PP;

my $LIUCTL = Liud::bin_dir() . '/liuctl';
my $tmp = tempdir('liud-find-XXXXXX', TMPDIR => 1, CLEANUP => 1);
delete $ENV{$_} for qw(LIUD_SOCKET COLUMNS PAGER LIUCTL_PAGER);

sub slurp { my ($p) = @_; open my $f, '<:raw', $p or return ''; local $/; my $t = <$f>; return $t // '' }

# liuctl on the daemon's socket, output to files (not a terminal):
# (exit status, stdout, stderr), decoded.
my $d = Liud::start_daemon(clock => '2024-06-01T09:00:00+09:00');
sub ctl { return $d->liuctl(@_) }

# Three applications on three days: an eligible one with a 法人番号 and an
# excluded control objective, one in full-width letters and half-width
# katakana without its pledge (ineligible), and a third, later.
my $a1 = Liud::good_app(provider_corporate_number => '8700110005901');
$a1->{statement}{controls}{'5.1.1'} = { excluded => '対象業務なし' };
$d->ok_call('act', { action => 'submit', params => $a1 });
$d->ok_call('clock.set', { now => '2024-06-15T10:00:00+09:00' });
my $a2 = Liud::good_app(service_name => 'ＡＢＣクラウド', provider_name => 'ｶﾌﾞｼｷｶﾞｲｼｬ Ｅｘａｍｐｌｅ');
delete $a2->{pledge};
$d->ok_call('act', { action => 'submit', params => $a2 });
$d->ok_call('clock.set', { now => '2024-07-01T10:00:00+09:00' });
$d->ok_call('act', { action => 'submit', params => Liud::good_app(service_name => '勤怠管理', provider_name => '合同会社サンプル') });

# --- record get: the summary first -------------------------------------------------------

my ($rc, $out, $err) = ctl('record', 'get', 'LIU-000001');
is($rc, 0, 'record get exits 0') or diag($err);
my @lines = split /\n/, $out;
cmp_ok(scalar @lines, '<', 40, 'the summary is short (' . scalar(@lines) . ' lines), not the 250 controls');
like($lines[0], qr/^id:\s+LIU-000001$/, 'the id first');
like($out, qr/^state:\s+submitted$/m, 'the state');
like($out, qr/^created_at:\s+2024-06-01 09:00/m, 'the dates');
my ($svc) = grep { $lines[$_] =~ /^サービス名 \/ service:\s+クラウド会計SaaS$/ } 0 .. $#lines;
ok(defined $svc && $svc < 10, 'the service name within the first 10 lines') or diag($out);
like($out, qr/^事業者名 \/ provider:\s+株式会社テスト$/m, 'the provider');
like($out, qr/^法人番号 \/ corporate number:\s+8700110005901$/m, 'the 法人番号 as text');
like($out, qr/^言明日 \/ statement made on:\s+2023-06-10$/m, 'the statement\'s date');
like($out, qr/統制目標 121 中 120（除外: 5\.1\.1）/, 'the statement as counts, the excluded objective named (ja)');
like($out, qr/control objectives: 120 of 121 \(excluded: 5\.1\.1\)/, '... and (en)');
like($out, qr/^decision:\s+eligible$/m, 'the decision');
like($out, qr/^incentives:\s+インセンティブ①（外部監査の対象範囲） \/ incentive ① \(audit scope\): 利用できません \/ not available$/m,
     'the incentives in words, with the pack\'s labels') or diag($out);
like($out, qr/^\s+インセンティブ②（内部監査報告書の提出免除） \/ incentive ② \(internal-audit report\): 利用できません/m, '... each');
unlike($out, qr/available (?:true|false)|used_on/, '... not as raw keys and values');
unlike($out, qr/3\.1\.2\.1|"met"/, 'no control listed one by one');
like($out, qr/record get LIU-000001 --full/, 'and how to see the whole record');

($rc, $out) = ctl('record', 'get', 'LIU-000002');
like($out, qr/^decision:\s+ineligible$/m, 'an ineligible record says so');
like($out, qr/^checks not met:\s+R4: /m, 'with the checks it fails and their reasons') or diag($out);

($rc, $out) = ctl('record', 'get', 'LIU-000001', '--full');
is($rc, 0, 'record get --full exits 0');
my @ids = $out =~ /^\s+"(\d+(?:\.\d+)*(?:\.[A-Z]+)?)": (?:"met"|\{)/mg;
cmp_ok(scalar @ids, '>', 200, '--full shows every control');
like($out, qr/^created_at:\s+2024-06-01T09:00:\d\d\+09:00$/m, '--full gives the instants whole, seconds and offset') or diag($out);
is_deeply(\@ids, [ sort @ids ], '... in sorted order');

($rc, $out) = ctl('--json', 'record', 'get', 'LIU-000001');
my @top = $out =~ /^  "([a-z_]+)":/mg;
is_deeply(\@top, [ sort @top ], '--json: the record\'s keys in sorted order') or diag("@top");
ok(eval { decode_json(Encode::encode('UTF-8', $out)) }, '... and it is JSON');
($rc, $out) = ctl('--json', 'eval', 'LIU-000001');
@top = $out =~ /^  "([a-z_]+)":/mg;
is_deeply(\@top, [ sort @top ], 'every JSON output sorted: eval too') or diag("@top");

($rc, $out, $err) = ctl('record', 'get', 'LIU-000099');
is($rc, 1, 'record get of no record exits 1');
like($err, qr/no such record/, 'saying so');

# --- record list: search, filters, sort, columns ----------------------------------------------

# The ids listed by a record list (the first column of each row but the header).
sub listed {
	my ($rc, $out, $err) = ctl('record', 'list', @_);
	return "rc=$rc $err" if $rc;
	my @rows = grep { /^LIU-/ } split /\n/, $out;
	return join ' ', map { (split /\s+/)[0] } @rows;
}

($rc, $out) = ctl('record', 'list');
like((split /\n/, $out)[0], qr/^ID\s+KIND\s+STATE\s+UPDATED\s+SERVICE NAME\s+PROVIDER\s+DECISION$/,
     'record list shows PROVIDER and DECISION');
like($out, qr/^LIU-000002\s.*ineligible$/m, 'the decision of each record');

is(listed('--search', 'abc'), 'LIU-000002', '--search abc finds ＡＢＣクラウド (full width, case)');
is(listed('--search', 'ＡＢＣ'), 'LIU-000002', '--search ＡＢＣ too');
is(listed('--search', 'カブシキガイシャ'), 'LIU-000002', '--search カブシキガイシャ finds ｶﾌﾞｼｷｶﾞｲｼｬ (half-width kana)');
is(listed('--search', 'EXAMPLE'), 'LIU-000002', '--search EXAMPLE finds Ｅｘａｍｐｌｅ');
is(listed('--search', 'saas'), 'LIU-000001', '--search saas finds クラウド会計SaaS');
is(listed('--search', '00110005'), 'LIU-000001', '--search by part of the 法人番号');
is(listed('--search', '株式会社'), 'LIU-000001', '--search by provider');
is(listed('--search', 'no such thing'), '', 'a search that finds nothing lists nothing');
is(listed('--decision', 'ineligible'), 'LIU-000002', '--decision ineligible');
is(listed('--decision', 'eligible'), 'LIU-000001 LIU-000003', '--decision eligible');
is(listed('--from', '2024-06-15'), 'LIU-000002 LIU-000003', '--from a date includes that day');
is(listed('--to', '2024-06-15'), 'LIU-000001 LIU-000002', '--to a date includes that whole day');
is(listed('--from', '2024-06-02', '--to', '2024-06-30'), 'LIU-000002', '--from and --to');
is(listed('--from', '令和6年7月1日'), 'LIU-000003', '--from in 和暦');
is(listed('--sort', '-id'), 'LIU-000003 LIU-000002 LIU-000001', '--sort -id: descending');
is(listed('--sort', 'provider'), 'LIU-000003 LIU-000001 LIU-000002', '--sort provider (by its header)');
# クラウド会計SaaS, 勤怠管理, ＡＢＣクラウド: in the order of their code points
is(listed('--sort', '-service_name', '--limit', '1'), 'LIU-000002',
   '--sort sorts every match, not one page, then keeps the first --limit');
($rc, $out, $err) = ctl('record', 'list', '--sort', 'nope');
is($rc, 2, '--sort by no column exits 2');
like($err, qr/--sort: no column nope/, 'saying so');

# Pagination stays whole under a filter: one match a page, every match once.
is(listed('--search', 'liu-', '--limit', '1', '--all'), 'LIU-000001 LIU-000002 LIU-000003',
   '--all follows the pages of a search (the id is searched too)');
is(listed('--search', '会社', '--limit', '1', '--all'), 'LIU-000001 LIU-000003',
   '... skipping the records that do not match');
my $page = $d->ok_call('record.list', { decision => 'eligible', limit => 1 });
is(scalar @{ $page->{records} }, 1, 'record.list: a filtered page holds limit records');
is($page->{next}, 'LIU-000001', '... and says where to go on');
$page = $d->ok_call('record.list', { decision => 'eligible', limit => 1, after => $page->{next} });
is($page->{records}[0]{id}, 'LIU-000003', '... the next match after it');
is_deeply($page->{decisions}, { 'LIU-000003' => 'eligible' }, '... with its decision');

# Unknown names are errors, not "no records".
($rc, $out, $err) = ctl('record', 'list', '--state', 'bogus');
isnt($rc, 0, 'an unknown state exits non-zero');
like($err, qr/state: bogus is not a state of the rule pack \(known: submitted, /, 'naming the known states');
like($err, qr/bogus は規則パックにない状態です/, '... in Japanese too');
unlike($out, qr/no records/, 'and does not say "no records"');
($rc, $out, $err) = ctl('record', 'list', '--kind', 'nope');
isnt($rc, 0, 'an unknown kind exits non-zero');
like($err, qr/kind: nope is not a kind of the rule pack \(known: application\)/, 'naming the kinds');
($rc, $out, $err) = ctl('record', 'list', '--decision', 'maybe');
isnt($rc, 0, 'an unknown decision exits non-zero');
like($err, qr/decision: must be eligible or ineligible/, 'saying which are known');
($rc, $out, $err) = ctl('record', 'list', '--from', '2024-07-01', '--to', '2024-06-01');
isnt($rc, 0, '--to before --from exits non-zero');
($rc, $out) = ctl('record', 'list', '--state', 'confirmed');
is($rc, 0, 'a known state with no records exits 0');
like($out, qr/^no records$/m, 'saying there are none');

# --- the pack says what is searched ---------------------------------------------------------

my $st = $d->ok_call('rules.status', {});
is_deeply($st->{kinds}{application}{search_fields}, [ 'service_name', 'provider_name', 'provider_corporate_number' ],
	  'the kind declares its search fields');

is($d->stop, 0, 'the daemon stops cleanly');
done_testing();
