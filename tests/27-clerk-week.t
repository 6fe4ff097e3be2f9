#!/usr/bin/perl
# What a secretariat clerk met in a week with liuctl: headers as people type
# them (a label with a note in brackets, half-width kana, no space) are read
# or the import is refused naming the column; record list --sort --limit
# keeps to the limit, sorted, with every DECISION; a re-import of an amended
# record says the data differ; a dotted key amends one member of a stored
# object; tables fit 80 columns; dates as Excel writes them, state titles.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;
use Encode qw(decode encode);
use File::Temp qw(tempdir);
use JSON::PP;

my $tmp = tempdir('liuctl-clerk-XXXXXX', TMPDIR => 1, CLEANUP => 1);
delete $ENV{LIUD_SOCKET};
my $JC = JSON::PP->new->canonical;

sub slurp { my ($p) = @_; open my $f, '<:raw', $p or return ''; local $/; my $t = <$f>; return $t // '' }
sub spew { my ($p, $bytes) = @_; open my $f, '>:raw', $p or die "$p: $!"; print $f $bytes; close $f; return $p }

# Runs liuctl on a daemon; returns (exit status, stdout text, stderr text).
sub ctl { my ($d, @args) = @_; return $d->liuctl(@args) }
sub count { my ($d) = @_; return $d->ok_call('status')->{records}{application}{submitted} // 0 }
sub csv_line { return join(',', map { /[",\r\n]/ ? '"' . s/"/""/gr . '"' : $_ } @_) }

my $controls = $JC->encode(Liud::good_app()->{statement}{controls});
# A clerk's CSV: the given headers (the sheet's columns in its order, as a
# person wrote them), one row per service name.
sub clerk_csv {
	my ($file, $head, @names) = @_;
	my $t = "\x{feff}" . csv_line(@$head) . "\r\n";
	$t .= csv_line($_, '株式会社テスト', '7000012050002', 'デジタル庁', '国の行政機関', '政府機関等', '低位', '2023/6/1',
		       '2022-04-01', '2023/6/10', '2023/6/15', '2025/3', $controls) . "\r\n" for @names;
	return spew("$tmp/$file", encode('UTF-8', $t));
}
my @TAIL = ('評価実施機関', '評価実施機関の種別', '評価の経路', '影響度評価の結果', '影響度評価の実施日', '管理基準の版',
	    '言明日', '誓約書の提出日');

my $d = Liud::start_daemon(clock => '2024-06-01T10:00:00+09:00');

# --- 1. headers as people type them ------------------------------------------------------------

my @head = ('ｻｰﾋﾞｽ名', '事業者名（会社名）', '法人番号（13桁）', @TAIL, 'ISMAP-LIU申請の予定時期',
	    '管理基準の項目ごとの言明');
my ($rc, $out, $err) = ctl($d, '--json', 'import', clerk_csv('typed.csv', \@head, 'ヘッダSaaS 1', 'ヘッダSaaS 2'));
is($rc, 0, 'half-width kana, a label with a note in brackets, no space: the import exits 0') or diag($err);
unlike($err, qr/not read/, 'no column left unread') or diag($err);
my $res = eval { JSON::PP->new->decode(encode('UTF-8', $out)) } // {};
my $rec = $res->{ids} ? $d->ok_call('record.get', { id => $res->{ids}[0] }) : {};
is($rec->{data}{provider_corporate_number}, '7000012050002', '法人番号（13桁） is read as the 法人番号');
is($rec->{data}{planned_liu_application}, '2025-03', 'ISMAP-LIU申請の予定時期 as the planned application');
is($rec->{data}{provider_name}, '株式会社テスト', '事業者名（会社名） as the provider');
is($rec->{data}{service_name}, 'ヘッダSaaS 1', 'ｻｰﾋﾞｽ名 as the service name');

my $before = count($d);
my @bad = @head;
$bad[2] = '法人No';
($rc, $out, $err) = ctl($d, 'import', clerk_csv('unread.csv', \@bad, 'ヘッダSaaS 3'));
isnt($rc, 0, 'a column no label names refuses the import');
like($err, qr/column C 「法人No」 is not read/, 'naming the column');
like($err, qr/the closest is 「法人番号」 \(provider_corporate_number\)/, 'and the closest label');
like($err, qr/--ignore-columns/, 'and how to import without it');
is(count($d), $before, 'nothing was written');
($rc, $out, $err) = ctl($d, 'import', '--ignore-columns', "$tmp/unread.csv");
is($rc, 0, 'with --ignore-columns the file imports') or diag($err);
like($err, qr/column C \(法人No\) not read \(--ignore-columns\)/, 'saying what was left out');
is(count($d), $before + 1, 'its row written');

# --- 2. record list --sort --limit -------------------------------------------------------------

$d->ok_call('act', { action => 'submit', params => Liud::good_app(service_name => "並べ替えSaaS $_") }) for 1 .. 5;
my @all = map { $_->{id} } @{ $d->ok_call('record.list', { limit => 1000 })->{records} };
($rc, $out, $err) = ctl($d, 'record', 'list', '--sort', '-id', '--limit', '3');
is($rc, 0, 'record list --sort -id --limit 3 exits 0') or diag($err);
my @rows = grep { /^LIU-/ } split /\n/, $out;
is_deeply([ map { (split ' ')[0] } @rows ], [ (reverse @all)[0 .. 2] ], 'three rows, newest id first') or diag($out);
is(scalar(grep { / - *$/ || !/eligible|ineligible/ } @rows), 0, 'each with its DECISION') or diag($out);
my $n = @all;
like($out, qr/^3 of $n records shown \(--limit\)$/m, 'saying how many there were');
($rc, $out, $err) = ctl($d, 'record', 'list', '--all', '--limit', '2');
@rows = grep { /^LIU-/ } split /\n/, $out;
is(scalar @rows, $n, '--all in pages of 2: every record') or diag($out);
is(scalar(grep { !/eligible|ineligible/ } @rows), 0, 'the later pages with their DECISION too') or diag($out);
($rc, $out, $err) = ctl($d, '--json', 'record', 'list', '--sort', '-id', '--limit', '3');
my $list = eval { JSON::PP->new->decode(encode('UTF-8', $out)) } // {};
is_deeply([ map { $_->{id} } @{ $list->{records} // [] } ], [ (reverse @all)[0 .. 2] ], '--json: sorted and cut too');

# --- 3. a re-import after an amend -----------------------------------------------------------

my @again = map { Liud::good_app(service_name => "再取込SaaS $_", planned_liu_application => '2025-03') } 1 .. 2;
spew("$tmp/again.jsonl", encode('UTF-8', join('', map { $JC->encode($_) . "\n" } @again)));
($rc, $out, $err) = ctl($d, '--json', 'import', "$tmp/again.jsonl");
my $first = (eval { JSON::PP->new->decode(encode('UTF-8', $out)) } // {})->{ids}[0] // 'none';
($rc, $out, $err) = ctl($d, 'import', "$tmp/again.jsonl");
is($rc, 0, 'the same file again exits 0') or diag($err);
like($out, qr/skipped 2 rows already recorded with the same content/, 'both rows skipped') or diag($out);
($rc, $out, $err) = ctl($d, 'act', 'amend', $first, 'planned_liu_application=2025-02');
is($rc, 0, "act amend $first planned_liu_application=2025-02") or diag($err);
($rc, $out, $err) = ctl($d, 'import', "$tmp/again.jsonl");
isnt($rc, 0, 'the file again after the amend is refused');
unlike($out, qr/skipped 2 rows/, 'the amended record is not reported skipped') or diag($out);
like("$out$err", qr/already has a live record, \Q$first\E; its data differ: use act amend \Q$first\E to change it/,
     'it says the data differ and to use act amend') or diag("$out$err");
is($d->ok_call('record.get', { id => $first })->{data}{planned_liu_application}, '2025-02', 'the record keeps its amend');

# --- 4. a dotted key amends one member of a stored object ----------------------------------------

($rc, $out, $err) = ctl($d, 'act', 'amend', $first, 'impact_assessment.assessed_on=2023-06-02');
is($rc, 0, 'act amend ID impact_assessment.assessed_on=… exits 0') or diag($err);
my $ia = $d->ok_call('record.get', { id => $first })->{data}{impact_assessment} // {};
is($ia->{assessed_on}, '2023-06-02', 'the member is changed');
is($ia->{assessor}, 'デジタル庁', 'the others are kept');
is($ia->{result}, 'low', 'all of them');

# A map's keys hold dots (a control's identifier): the rest of the key after
# a field the pack declares as a map is one key of it, not objects inside.
my $stmt = $d->ok_call('record.get', { id => $first })->{data}{statement} // {};
my $ncontrols = keys %{ $stmt->{controls} // {} };
($rc, $out, $err) = ctl($d, 'act', 'amend', $first, 'statement.controls.10.1.1={"excluded":"対象業務なし"}',
			'statement.controls.10.1.2.20.PB=met', 'pledge.submitted_on=2024-06-02');
is($rc, 0, 'act amend ID statement.controls.10.1.1=… (a map\'s dotted key) exits 0') or diag($err);
my $got = $d->ok_call('record.get', { id => $first })->{data}{statement} // {};
is_deeply($got->{controls}{'10.1.1'}, { excluded => '対象業務なし' }, 'the control 10.1.1 is set, its id one key');
is($got->{controls}{'10.1.2.20.PB'}, 'met', '... and 10.1.2.20.PB beside it (two keys sharing a first part)');
ok(!ref $got->{controls}{10}, '... no object "10" made inside the map') or diag($JC->encode($got->{controls}{10}));
is(scalar(keys %{ $got->{controls} // {} }), $ncontrols, '... the other controls kept');
is($got->{criteria_version}, $stmt->{criteria_version}, '... and the statement\'s other members');

# Item 12 stays fixed: a 13-digit 法人番号 as key=value is sent as text.
($rc, $out, $err) = ctl($d, 'act', 'amend', $first, 'provider_corporate_number=7000012050002');
is($rc, 0, 'act amend ID provider_corporate_number=7000012050002 exits 0') or diag($err);
is($JC->encode([ $d->ok_call('record.get', { id => $first })->{data}{provider_corporate_number} ]), '["7000012050002"]',
   '... stored as the text of 13 digits');

# --- 6. smaller ones -------------------------------------------------------------------------------

($rc, $out, $err) = ctl($d, 'act', 'amend', $first, 'clear=certifications');
is($rc, 0, 'clear=certifications (a list, as act --help shows it) is accepted') or diag($err);
ok(!exists $d->ok_call('record.get', { id => $first })->{data}{certifications}, 'and clears it');
my @many = map { Liud::good_app(service_name => "大量SaaS $_") } 1 .. 8;
spew("$tmp/many.jsonl", encode('UTF-8', join('', map { $JC->encode($_) . "\n" } @many)));
ctl($d, 'import', "$tmp/many.jsonl");
($rc, $out, $err) = ctl($d, 'import', "$tmp/many.jsonl");
is($rc, 0, 'a file imported again exits 0');
like($out, qr/^skipped 8 rows already recorded with the same content: line 1 \(LIU-\d+\), line 2 .*line 5 \(LIU-\d+\), and 3 more \(--json lists them all\)$/m,
     'the skipped rows summed up: the count, the first ids, --json for all') or diag($out);

($rc, $out, $err) = ctl($d, 'record', 'list', '--from', '2024/6/1');
is($rc, 0, '--from 2024/6/1 (Excel\'s date) is accepted') or diag($err);
like($out, qr/^LIU-/m, 'and lists');
($rc, $out, $err) = ctl($d, 'record', 'list', '--state', '申請受付');
is($rc, 0, '--state 申請受付 (the state\'s title) is accepted') or diag($err);
like($out, qr/^LIU-\S+\s+application\s+submitted/m, 'as the state submitted') or diag($out);
($rc, $out, $err) = ctl($d, 'act', 'amend', $first, 'pledge.submitted_on=2023-6-x');
isnt($rc, 0, 'a date that is none is refused');
unlike($err, qr/not a date: not a date/, 'saying so once') or diag($err);
like($err, qr/not a date \(e\.g\. 2023-06-01, 2023\/6\/1/, 'with examples') or diag($err);
($rc, $out, $err) = ctl($d, 'clock', 'set', '2024/6/2');
is($rc, 0, 'clock set 2024/6/2') or diag($err);
like($d->ok_call('status')->{clock}{now} // '', qr/^2024-06-02/, 'sets the clock');

# --- 5. tables in 80 columns ------------------------------------------------------------------------

sub width { my $w = 0; $w += /[\p{East_Asian_Width=Wide}\p{East_Asian_Width=Fullwidth}]/ ? 2 : 1 for split //, $_[0]; return $w }
sub widest { my $m = 0; for (split /\n/, $_[0]) { my $w = width($_); $m = $w if $w > $m } return $m }
$d->ok_call('act', { action => 'confirm', id => $first });
$ENV{COLUMNS} = 80;
for my $cmd ([ 'view', 'service-list' ], [ 'record', 'list' ], [ 'eval', $first ]) {
	($rc, $out, $err) = ctl($d, @$cmd);
	is($rc, 0, "COLUMNS=80 @$cmd exits 0") or diag($err);
	cmp_ok(widest($out), '<=', 80, '... no line wider than 80 columns, the marking line too') or diag($out);
	unlike($out, qr/LIU-\d{0,5}\.\.\.|\d{4}-\d\d-?\.\.\./, '... no id or date cut') or diag($out);
	like($out, qr/\Q$first\E/, '... the id whole');
}
# The record list a clerk reads at 80 columns: times in Japan time to the
# minute (not ten columns of offset and seconds), so the provider fits
# beside the service; a program's TSV keeps the full instant.
($rc, $out, $err) = ctl($d, 'record', 'list');
like($out, qr/^ID\s+STATE\s+SERVICE NAME\s+PROVIDER\b/m, 'record list at 80: id, state, service and provider') or diag($out);
like($out, qr/^\Q$first\E\s+confirmed\s+\S.*株式会社テスト/m, '... on the record\'s row') or diag($out);
unlike($out, qr/T\d\d:\d\d|\+09:00/, '... no ISO instant on a terminal table') or diag($out);
($rc, $out, $err) = ctl($d, 'record', 'list', '--columns', 'id,updated');
like($out, qr/^\Q$first\E\s+2024-06-0\d \d\d:\d\d$/m, 'the update time, asked for, in the short local form') or diag($out);
($rc, $out, $err) = ctl($d, 'record', 'list', '--format', 'tsv', '--columns', 'id,updated');
like($out, qr/^\Q$first\E\t2024-06-0\dT\d\d:\d\d:\d\d\+09:00$/m, 'TSV keeps the full ISO instant') or diag($out);
($rc, $out, $err) = ctl($d, 'view', 'service-list');
like($out, qr/\Q$first\E\s.*\b2024-06-02\b/, 'the service list: the id and the date whole on the row') or diag($out);

# The service list read at a normal terminal: one screen of headers and a
# few lines a record, the columns that do not fit left out with a note
# naming them and how to see them; at 120 columns more of them shown.
for my $cols (80, 120) {
	$ENV{COLUMNS} = $cols;
	($rc, $out, $err) = ctl($d, 'view', 'service-list');
	my @lines = split /\n/, $out;
	my ($at) = grep { $lines[$_] =~ /^\Q$first\E/ } 0 .. $#lines;
	my ($head) = grep { $lines[$_] =~ /^番号/ } 0 .. $#lines;
	ok(defined $at && defined $head && $at - $head <= 6,
	   "COLUMNS=$cols: the headers (ja, en) take at most 6 lines") or diag($out);
	my ($next) = grep { $_ > ($at // 0) && $lines[$_] !~ /^\s/ } 0 .. $#lines;
	ok(defined $at && defined $next && $next - $at <= 4, "... a record at most 4 lines") or diag($out);
	cmp_ok(widest($out), '<=', $cols, "... no line wider than $cols") or diag($out);
	my ($note) = $out =~ /^(.*(?:left out|省略).*)$/m;
	ok($note, '... a note says which columns were left out') or diag($out);
	like($note // '', qr/--columns/, '... and how to see them') or diag($out);
	like($out, qr/\Q$first\E\s+\S*SaaS/, '... the id and the service name shown') or diag($out);
}
$ENV{COLUMNS} = 80;
($rc, $out, $err) = ctl($d, 'rules', 'status');
like($out, qr/^special-measure\s/m, 'rules status at 80 columns: a measure\'s name whole (the name to type)') or diag($out);
like($out, qr/^file_liu_application\s/m, '... and an action\'s') or diag($out);
($rc, $out) = ctl($d, 'view', 'service-list', '--columns', 'id,status');
like($out, qr/^LIU-\d+\s+掲載中/m, '--columns shows a column left out at 80') or diag($out);
unlike($out, qr/left out|省略/, '... with no note when all asked for fit') or diag($out);
delete $ENV{COLUMNS};
($rc, $out) = ctl($d, 'view', 'service-list');
unlike($out, qr/left out|省略/, 'into a file without $COLUMNS nothing is left out') or diag($out);

done_testing;
