#!/usr/bin/perl
# liuctl import and export against real daemons: applications from JSON lines
# and from CSV as spreadsheets save it (UTF-8 with or without a BOM, Shift_JIS,
# RFC 4180 quoting, dotted and bilingual headers, JSON cells), all or nothing
# or per row with a report by line, parts under the request line limit; every
# record out as CSV and JSON lines, read back by a fresh daemon with the same
# data; and a view as an HTML page.
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

my $LIUCTL = bin_dir() . '/liuctl';
my $tmp = tempdir('liuctl-io-XXXXXX', TMPDIR => 1, CLEANUP => 1);
delete $ENV{LIUD_SOCKET};
my $JC = JSON::PP->new->canonical; # characters, for CSV cells

sub slurp { my ($p) = @_; open my $f, '<:raw', $p or return ''; local $/; my $t = <$f>; return $t // '' }
sub spew { my ($p, $bytes) = @_; open my $f, '>:raw', $p or die "$p: $!"; print $f $bytes; close $f; return $p }

# Runs liuctl; returns (exit status, stdout bytes, stderr text).
sub run_raw {
	my ($stdin, @args) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', $stdin // '/dev/null' or die;
		open STDOUT, '>', "$tmp/out" or die;
		open STDERR, '>', "$tmp/err" or die;
		exec $LIUCTL, @args or exit 127;
	}
	waitpid($pid, 0);
	return ($? >> 8, slurp("$tmp/out"), decode('UTF-8', slurp("$tmp/err")));
}
# The same on a daemon's socket, stdout decoded too.
sub ctl {
	my ($d, @args) = @_;
	my ($rc, $out, $err) = run_raw(undef, '--socket', $d->{sock}, @args);
	return ($rc, decode('UTF-8', $out), $err);
}

sub count { my ($d) = @_; return $d->ok_call('status')->{records}{application}{submitted} // 0 }
sub all_records {
	my ($d) = @_;
	my (@r, $after);
	do {
		my $page = $d->ok_call('record.list', { limit => 1000, ($after ? (after => $after) : ()) });
		push @r, @{ $page->{records} };
		$after = $page->{next};
	} while ($after);
	return @r;
}
# Every record's data as canonical JSON, sorted: equal lists mean equal data.
sub data_set { my ($d) = @_; return [ sort map { json()->encode($_->{data}) } all_records($d) ] }

# --- CSV as a spreadsheet writes it ------------------------------------------------

my @H = qw(service_name provider_name impact_assessment.assessor impact_assessment.assessor_type
	   impact_assessment.result impact_assessment.assessed_on statement.criteria_version
	   statement.stated_on statement.controls pledge.submitted_on planned_liu_application
	   certifications provider_corporate_number impact_assessment.route);
sub cell_of {
	my ($app, $path) = @_;
	my $v = $app;
	for my $k (split /\./, $path) {
		return '' unless ref $v eq 'HASH' && exists $v->{$k};
		$v = $v->{$k};
	}
	return ref $v ? $JC->encode($v) : $v;
}
sub csv_line { return join(',', map { /[",\r\n]/ ? '"' . s/"/""/gr . '"' : $_ } @_) }
# The text of a CSV: header (default @H), one row per application.
sub csv_text {
	my ($eol, $header, @apps) = @_;
	my $t = csv_line(@{ $header // \@H }) . $eol;
	for my $a (@apps) { $t .= csv_line(map { cell_of($a, $_) } @H) . $eol }
	return $t;
}

my $d = Liud::start_daemon(clock => '2024-06-01T10:00:00+09:00');

# --- JSON lines -----------------------------------------------------------------------

my @apps = map { Liud::good_app(service_name => "サービス$_", ($_ % 2 ? (provider_corporate_number => '7000012050002') : ())) } 1 .. 18;
push @apps, Liud::good_app(service_name => '=SUM(1,2)'), Liud::good_app(service_name => '[β版] クラウド');
my $jsonl = join('', map { json()->encode($_) . "\n" . ($_ == $apps[4] ? "\n  \n" : '') } @apps);
my ($rc, $out, $err) = ctl($d, 'import', spew("$tmp/apps.jsonl", $jsonl));
is($rc, 0, 'import of 20 applications as JSON lines exits 0') or diag($err);
like($out, qr/^imported 20 of 20 rows \(LIU-000001 to LIU-000020\)$/m, 'and says so');
is(count($d), 20, 'all 20 stored');
is_deeply(data_set($d), [ sort map { json()->encode($_) } @apps ], 'with the data as given (blank lines skipped)');
is($d->ok_call('record.get', { id => 'LIU-000001' })->{data}{provider_corporate_number}, '7000012050002',
   'a corporate number stays a string');

# --- CSV: UTF-8 with a BOM, bilingual headers, quoting, JSON cells across lines ---------

my $a1 = Liud::good_app(service_name => 'クラウド, "会計" SaaS', provider_name => '株式会社 表計算');
my $a2 = Liud::good_app(service_name => 'CSV二号', provider_corporate_number => '1000011000005');
delete $a2->{certifications};
my @bi = @H;
$bi[0] = 'サービス名 (service_name)';
$bi[1] = '事業者名（provider_name）';
$bi[12] = '法人番号 (provider_corporate_number)';
my $csv;
# The second row's certifications: a JSON cell with line breaks in it,
# quoted (RFC 4180).
$csv = csv_line(@bi) . "\r\n" . csv_line(map { cell_of($a1, $_) } @H) . "\r\n";
my @row2 = map { cell_of($a2, $_) } @H;
$row2[11] = "[\n  {\"name\": \"ISO/IEC 27017\", \"valid_until\": \"2027-01-31\"}\n]";
$csv .= csv_line(@row2) . "\r\n";
$a2->{certifications} = [ { name => 'ISO/IEC 27017', valid_until => '2027-01-31' } ];
($rc, $out, $err) = ctl($d, '--json', 'import', spew("$tmp/bom.csv", "\xEF\xBB\xBF" . encode('UTF-8', $csv)));
is($rc, 0, 'import of a UTF-8 CSV with a BOM exits 0') or diag($err);
my $res = eval { json()->decode(encode('UTF-8', $out)) } // {};
is($res->{created}, 2, '--json: the raw result');
is(json()->encode($d->ok_call('record.get', { id => $res->{ids}[0] })->{data}), json()->encode($a1),
   'quoted commas and quotes, bilingual headers: the data as in the sheet');
is(json()->encode($d->ok_call('record.get', { id => $res->{ids}[1] })->{data}), json()->encode($a2),
   'a JSON cell over several lines, an empty cell absent');

# --- without a BOM, LF, from standard input ---------------------------------------------

my $a3 = Liud::good_app(service_name => 'BOMなし', planned_liu_application => '2024-12');
spew("$tmp/nobom.csv", encode('UTF-8', csv_text("\n", undef, $a3)));
($rc, $out, $err) = run_raw("$tmp/nobom.csv", '--socket', $d->{sock}, 'import', '-', '--format', 'csv');
is($rc, 0, 'import of a UTF-8 CSV without a BOM, LF, on standard input exits 0') or diag($err);
like($out, qr/^imported 1 of 1 row \(LIU-000023\)$/m, 'one row');
is(json()->encode($d->ok_call('record.get', { id => 'LIU-000023' })->{data}), json()->encode($a3), 'its data');

# --- Shift_JIS, as Japanese Excel saves CSV ----------------------------------------------

my $a4 = Liud::good_app(service_name => '髙橋クラウド①', provider_name => '株式会社ソ十表');
($rc, $out, $err) = ctl($d, '--json', 'import', spew("$tmp/sjis.csv", encode('cp932', csv_text("\r\n", undef, $a4))));
is($rc, 0, 'a Shift_JIS (CP932) CSV is recognised and imported') or diag($err);
$res = eval { json()->decode(encode('UTF-8', $out)) } // {};
is(json()->encode($d->ok_call('record.get', { id => $res->{ids}[0] // '?' })->{data}), json()->encode($a4),
   'its text converted (髙, ①, ソ and 表 with their 0x5C second bytes)');
my $a5 = Liud::good_app(service_name => 'エスジス指定');
($rc, $out, $err) = ctl($d, 'import', '--encoding', 'shift_jis', spew("$tmp/sjis2.txt", encode('cp932', csv_text("\r\n", undef, $a5))));
is($rc, 0, '--encoding shift_jis, the format guessed from the text') or diag($err);
spew("$tmp/badsjis.csv", encode('cp932', csv_text("\r\n", undef, $a5)) . "\xFF\xFF,x\r\n");
($rc, $out, $err) = ctl($d, 'import', "$tmp/badsjis.csv");
is($rc, 2, 'a byte that is neither UTF-8 nor Shift_JIS exits 2');
like($err, qr/line 3: byte 0xFF is not Shift_JIS/, 'naming its line');
($rc, $out, $err) = ctl($d, 'import', '--encoding', 'utf-8', "$tmp/sjis.csv");
is($rc, 2, '--encoding utf-8 on Shift_JIS exits 2');
like($err, qr/line 2: byte 0x[0-9A-F]{2} is not UTF-8/, 'naming the line');
is(count($d), 25, 'nothing imported by the failures');

# --- a bad row: all or nothing, then --per-row ----------------------------------------------

my $bad = Liud::good_app(service_name => '不正な日付');
$bad->{impact_assessment}{assessed_on} = '2023-02-30';
my @ok = map { Liud::good_app(service_name => "行単位$_") } 1 .. 2;
$csv = csv_line(@H) . "\r\n" . csv_line(map { cell_of($ok[0], $_) } @H) . "\r\n" . "\r\n"
     . csv_line(map { cell_of($bad, $_) } @H) . "\r\n" . csv_line(map { cell_of($ok[1], $_) } @H) . "\r\n";
spew("$tmp/bad.csv", "\xEF\xBB\xBF" . encode('UTF-8', $csv));
($rc, $out, $err) = ctl($d, 'import', "$tmp/bad.csv");
is($rc, 1, 'a CSV with one bad row, all or nothing, exits 1');
like($err, qr/import refused, nothing was written: 1 of 3 rows fail/, 'saying nothing was written');
like($err, qr/^ROW\s+FIELD\s+REASON/m, 'a table of the failed rows');
like($err, qr/^4\s+impact_assessment\.assessed_on\s+\S/m, 'naming the row by its line in the file, and the field');
like($err, qr/^\s+not a date: /m, 'the reason in English under the Japanese (the field is in its column)');
like($err, qr/^imported 0 of 3 rows/m, 'imported 0 of 3');
is($out, '', 'nothing on stdout');
is(count($d), 25, 'nothing was written');
($rc, $out, $err) = ctl($d, 'import', '--per-row', "$tmp/bad.csv");
is($rc, 1, '--per-row with a bad row exits 1');
like($out, qr/^imported 2 of 3 rows/m, 'importing the good ones');
like($out, qr/^4\s+impact_assessment\.assessed_on\s+\S/m, 'and reporting the bad one');
is(count($d), 27, 'the two good rows written');

# --- the request line limit ----------------------------------------------------------------------

my @big = map { Liud::good_app(service_name => "大量$_") } 1 .. 5;
spew("$tmp/big.jsonl", join('', map { json()->encode($_) . "\n" } @big));
# Over the limit, with a bad row: checked whole first, nothing sent.
spew("$tmp/bigbad.jsonl", join('', map { json()->encode($_) . "\n" }
	@big, Liud::good_app(service_name => '大量不良', planned_liu_application => '来年')));
($rc, $out, $err) = ctl($d, 'import', '--max-bytes', '10000', "$tmp/bigbad.jsonl");
is($rc, 1, 'an import over the line limit with a bad row exits 1');
like($err, qr/import refused, nothing was written: 1 of 6 rows fail/, 'checked whole first: nothing written');
like($err, qr/^6\s+planned_liu_application/m, 'the bad row named by its line');
is(count($d), 27, 'nothing sent');
($rc, $out, $err) = ctl($d, '--json', 'import', '--per-row', '--max-bytes', '10000', "$tmp/big.jsonl");
is($rc, 0, '--per-row sends it in parts under the limit (one would be over it, as above)') or diag($err);
$res = eval { json()->decode(encode('UTF-8', $out)) } // {};
is($res->{created}, 5, 'all five written');
is(scalar @{ $res->{ids} // [] }, 5, 'the ids of every part');
is(count($d), 32, 'stored');

# --- usage and no daemon --------------------------------------------------------------------------

($rc, $out, $err) = ctl($d, 'import', "$tmp/nothing.csv");
is($rc, 2, 'a missing file exits 2');
like($err, qr/cannot read .*nothing\.csv: No such file/, 'saying so');
($rc) = ctl($d, 'import', '--format', 'xml', "$tmp/big.jsonl");
is($rc, 2, 'an unknown --format exits 2');
($rc, $out, $err) = ctl($d, 'import', spew("$tmp/broken.jsonl", qq({"service_name":"a"}\n{"service_name":\n[1]\n)));
is($rc, 2, 'JSON lines that do not parse exit 2');
like($err, qr/line 2: not JSON/, 'naming the line');
like($err, qr/line 3: not a JSON object/, 'every bad line');
($rc, $out, $err) = ctl($d, 'import', spew("$tmp/empty.csv", "\xEF\xBB\xBFservice_name,provider_name\r\n"));
is($rc, 2, 'a CSV with no rows exits 2');
($rc) = run_raw(undef, '--socket', "$tmp/nobody.sock", 'import', "$tmp/big.jsonl");
is($rc, 3, 'no daemon exits 3');
is(count($d), 32, 'nothing written by any of those');

# --- export CSV, import into a fresh daemon: the same data --------------------------------------------

my ($xrc, $xcsv, $xerr) = run_raw(undef, '--socket', $d->{sock}, 'export', '--format', 'csv');
is($xrc, 0, 'export --format csv exits 0') or diag($xerr);
is($xerr, '', 'nothing it cannot carry');
is(substr($xcsv, 0, 3), "\xEF\xBB\xBF", 'UTF-8 with a BOM');
my @lines = split /(?<=\n)/, $xcsv;
is(scalar(grep { !/\r\n\z/ } @lines), 0, 'CRLF line ends');
like(decode('UTF-8', $lines[0]), qr/^\x{feff}政府機関等限り/, 'the handling marking first');
like(decode('UTF-8', $lines[1]), qr/^番号 \/ ID \(id\),種類 \/ Kind \(kind\),状態 \(state\),State \(state\),版 \/ Revision \(rev\),作成日時 \/ Created \(created_at\),更新日時 \/ Updated \(updated_at\),サービス名 \/ Service name \(service_name\),/,
     'then the record fields, then the pack\'s sheet, labelled');
my %cols = map { /\(([^()]+)\)\z/ ? ($1 => 1) : ($_ => 1) } split /,/, decode('UTF-8', $lines[1]) =~ s/\r\n//r;
ok($cols{'impact_assessment.assessor'} && $cols{'statement.controls'} && $cols{'pledge.submitted_on'}
   && $cols{certifications} && $cols{provider_corporate_number}, 'data one level down, dotted') or diag($lines[0]);
is(scalar @lines, 34, 'the marking, a header and a line per record');
like(decode('UTF-8', $xcsv), qr/,'=SUM\(1,2\)"?,|"'=SUM\(1,2\)"/, 'a formula-like text escaped with a quote');
spew("$tmp/export.csv", $xcsv);

my $e = Liud::start_daemon(clock => '2024-06-01T10:00:00+09:00');
($rc, $out, $err) = ctl($e, 'import', "$tmp/export.csv");
is($rc, 0, 'the export imports into a fresh daemon') or diag($err);
like($out, qr/^imported 32 of 32 rows/m, 'every record');
is_deeply(data_set($e), data_set($d), 'every record with identical data');
$e->stop;

# --- export JSON lines ----------------------------------------------------------------------------------

my ($jrc, $jout) = run_raw(undef, '--socket', $d->{sock}, 'export');
is($jrc, 0, 'export (JSON lines) exits 0');
my @recs = map { json()->decode($_) } split /\n/, $jout;
is(scalar @recs, 32, 'one line per record');
is_deeply(\@recs, [ all_records($d) ], 'each the whole record');
($jrc, $jout) = run_raw(undef, '--socket', $d->{sock}, 'export', '--state', 'confirmed');
is($jout, '', '--state: only those records (none confirmed)');
spew("$tmp/export.jsonl", join('', map { json()->encode($_) . "\n" } @recs));
my $f = Liud::start_daemon(clock => '2024-06-01T10:00:00+09:00');
($rc, $out, $err) = ctl($f, 'import', "$tmp/export.jsonl");
is($rc, 0, 'the JSON lines export imports too (whole records: their data)') or diag($err);
is_deeply(data_set($f), data_set($d), 'with identical data');
$f->stop;

# --- a view as an HTML page -------------------------------------------------------------------------------

my ($hrc, $html) = run_raw(undef, '--socket', $d->{sock}, 'view', 'service-list', '--format', 'html');
is($hrc, 0, 'view service-list --format html exits 0');
like($html, qr/\A<!DOCTYPE html>/, 'a whole HTML page');
like($html, qr{</html>\n\z}, 'written as it is');
my (undef, $hjson) = run_raw(undef, '--socket', $d->{sock}, '--json', 'view', 'service-list', '--format', 'html');
# The page says when it was made; the (test) clock moves on between the two requests.
my $stamp = qr{(Generated: )[^ <]+};
(my $h1 = $html) =~ s/$stamp/$1T/;
(my $h2 = $hjson) =~ s/$stamp/$1T/;
like($html, $stamp, 'the page says when it was made');
is($h2, $h1, 'the same with --json (but for when it was made)');

ok($d->ok_call('audit.verify')->{ok}, 'the audit chain holds');
done_testing;
