#!/usr/bin/perl
# The service list as one self-contained HTML page, opened in a real browser
# (Debian's headless Chromium): it renders every row, with Japanese headers
# and English labels, no external assets, and the not-for-publication notice.
# Printed to PDF (A4 landscape): at most 12 rows a page, the marking and the
# page number on every page, no date cut in two.  Japanese is drawn with
# real glyphs: a CJK font is installed, and the browser draws a known string
# otherwise than it draws characters no font has (tofu).  (The PDF's font
# names say nothing: Chromium writes a CJK collection's glyphs as Type 3
# fonts with no name.)
use strict;
use warnings;
use utf8;
use Test::More;
use Time::HiRes qw(time);
my $T0 = time;
END { diag(sprintf 'whole file: %.1f s', time - $T0) }
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Encode qw(decode_utf8 encode_utf8);
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

my ($chromium) = grep { -x } qw(/usr/bin/chromium /usr/bin/chromium-browser);
plan skip_all => 'chromium is not installed (make test installs it)' unless $chromium;

my $tmp = tempdir('liud-html-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d = Liud::start_daemon(clock => '2024-06-01T10:00:00+09:00');
# 37 services, as the outsider printed: three named, the rest numbered, some
# with a filing recorded (a cell of two lines).
my @names = ('クラウド会計 <Cloud> & "Ledger"', '電子契約 e-Sign', 'チャット ChatHub',
	     map { sprintf 'サービス%02d 業務システム Service %02d', $_, $_ } 4 .. 37);
for my $i (0 .. $#names) {
	my $r = $d->ok_call('act', { action => 'submit', params => Liud::good_app(service_name => $names[$i]) });
	$d->ok_call('act', { action => 'confirm', id => $r->{record}{id} });
	$d->ok_call('act', { action => 'file_liu_application', id => $r->{record}{id},
			     params => { type => 'pre_application', filed_on => '2024-05-20' } }) if $i % 3 == 0;
}
my $html = $d->ok_call('view', { name => 'service-list', format => 'html' });
like($html, qr/^<!DOCTYPE html>/, 'a complete HTML document');
unlike($html, qr/<(script|link|img|iframe)\b|\bsrc=|\@import|url\(/i, 'self-contained: no scripts, links or external assets');
like($html, qr/政府機関等限り/, 'marked for government bodies only');
like($html, qr/\@media print/, 'with print styles');
like($html, qr/&lt;Cloud&gt; &amp; &quot;Ledger&quot;/, 'cell text is escaped');
open my $f, '>', "$tmp/list.html" or die;
print $f encode_utf8($html);
close $f;
system("cp $tmp/list.html /tmp/logs-h/list.html") if $ENV{KEEP_HTML};

# Render it: the DOM after parsing, and a screenshot.
my @flags = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
	     '--disable-background-networking', '--disable-component-update', '--disable-sync',
	     "--user-data-dir=$tmp/profile");
# Pictures and PDFs once fonts are loaded and every stage drawn.
my @draw = ('--run-all-compositor-stages-before-draw', '--virtual-time-budget=3000');
my $dom = decode_utf8(scalar `"$chromium" @flags --dump-dom "file://$tmp/list.html" 2>/dev/null`);
ok(length $dom > 500, 'Chromium rendered the page');
my @rows = map { /<tr>(.*?)<\/tr>/gs } $dom =~ /<tbody>(.*?)<\/tbody>/gs;
is(scalar(@rows), scalar @names, 'one row per listed service');
my @sheets = $dom =~ /<section class="sheet">(.*?)<\/section>/gs;
is(scalar @sheets, 4, '37 rows: four sheets');
ok(!(grep { (() = /<tr>/g) > 13 } @sheets), 'at most 12 rows (and the header) a sheet');
for my $n (@names) {
	(my $esc = $n) =~ s/&/&amp;/g;
	$esc =~ s/</&lt;/g;
	$esc =~ s/>/&gt;/g;
	ok((grep { (my $t = $_) =~ s/<[^>]*>//g; index($t, $esc) >= 0 } @rows), "the row of $n is rendered");
}
my ($head) = $dom =~ /<thead>(.*?)<\/thead>/s;
like($head // '', qr/サービス名.*Service name/s, 'headers in Japanese with English labels');

# --- Japanese glyphs, not tofu ----------------------------------------------------------
# The same box drawn twice: once with a known Japanese string, once with as
# many private-use characters, which no font has.  Without a Japanese font
# both are rows of the same empty boxes, and the two pictures are the same.
my $fonts = `fc-list :lang=ja family 2>/dev/null`;
ok($fonts =~ /\S/, 'a font for Japanese is installed (fc-list :lang=ja; scripts/deps.sh --test installs fonts-noto-cjk)')
	or diag('fc-match :lang=ja gives ' . `fc-match :lang=ja 2>&1`);
sub shot {
	my ($name, $text) = @_;
	open my $h, '>', "$tmp/$name.html" or die;
	print $h encode_utf8("<!DOCTYPE html><html lang=\"ja\"><meta charset=\"utf-8\">"
		. "<body style=\"margin:0;font:40px sans-serif\"><p>$text</p></body></html>");
	close $h;
	system("\"$chromium\" @flags @draw --screenshot=$tmp/$name.png --window-size=600,200 \"file://$tmp/$name.html\" >/dev/null 2>&1");
	open my $p, '<:raw', "$tmp/$name.png" or return '';
	local $/;
	return <$p> // '';
}
my $ja = shot('ja', '政府機関等限り');
my $tofu = shot('tofu', "\x{E000}" x 7);
ok(length $ja > 0 && length $tofu > 0, 'both strings paint');
isnt($ja, $tofu, 'Japanese is drawn with its glyphs: its picture differs from one of seven missing glyphs');

# --- printed: A4 landscape, 12 rows a page, marking and number on each -------------------
SKIP: {
	skip 'poppler-utils is not installed (make test installs it)', 9
		unless system('command -v pdfinfo pdftotext >/dev/null 2>&1') == 0;
	system("\"$chromium\" @flags @draw --no-pdf-header-footer --print-to-pdf=$tmp/list.pdf \"file://$tmp/list.html\" >/dev/null 2>&1");
	ok(-s "$tmp/list.pdf", 'Chromium prints the page to PDF');
	my $info = `pdfinfo "$tmp/list.pdf" 2>&1`;
	my ($pages) = $info =~ /^Pages:\s+(\d+)/m;
	is($pages, 4, '37 services print on 4 pages (12 a page), not 10');
	my ($w, $h) = $info =~ /^Page size:\s+([\d.]+) x ([\d.]+)/m;
	ok($w && abs($w - 842) < 3 && abs($h - 595) < 3, "A4 landscape ($w x $h pt)");
	my (@no_mark, @no_num, $text);
	for my $p (1 .. ($pages // 0)) {
		my $t = decode_utf8(scalar `pdftotext -layout -f $p -l $p "$tmp/list.pdf" - 2>/dev/null`);
		$text .= $t;
		push @no_mark, $p unless $t =~ /政府機関等限り/;
		push @no_num, $p unless $t =~ /\b$p \/ $pages 頁/;
	}
	is("@no_mark", '', 'the handling marking is on every page');
	is("@no_num", '', 'and the page number ("N / 4 頁")');
	my %ids;
	$ids{$_}++ for $text =~ /\b(LIU-\d{6})\b/g;
	is(scalar(keys %ids), scalar @names, 'every service is printed');
	is(scalar(grep { $_ != 1 } values %ids), 0, 'once');
	# Every date of the cells is printed whole, on one line.
	my %dates = map { $_ => 1 } $html =~ /(\d{4}-\d\d-\d\d)/g;
	my @cut = grep { index($text, $_) < 0 } sort keys %dates;
	ok(scalar(keys %dates) >= 2, 'the list holds dates (' . join(', ', sort keys %dates) . ')');
	is("@cut", '', 'no date is cut in two');
}
done_testing;
