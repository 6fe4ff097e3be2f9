#!/usr/bin/perl
# The service list as one self-contained HTML page, opened in a real browser
# (Debian's headless Chromium): it renders every row, with Japanese headers
# and English labels, no external assets, and the not-for-publication notice.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Encode qw(decode_utf8 encode_utf8);
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

my ($chromium) = grep { -x } qw(/usr/bin/chromium /usr/bin/chromium-browser);
plan skip_all => 'chromium is not installed (make test installs it)' unless $chromium;

my $tmp = tempdir('liud-html-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d = Liud::start_daemon(clock => '2024-06-01T10:00:00+09:00');
my @names = ('クラウド会計 <Cloud> & "Ledger"', '電子契約 e-Sign', 'チャット ChatHub');
for my $n (@names) {
	my $r = $d->ok_call('act', { action => 'submit', params => Liud::good_app(service_name => $n) });
	$d->ok_call('act', { action => 'confirm', id => $r->{record}{id} });
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

# Render it: the DOM after parsing, and a screenshot.
my @flags = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
	     '--disable-background-networking', '--disable-component-update', '--disable-sync',
	     "--user-data-dir=$tmp/profile");
my $dom = decode_utf8(scalar `"$chromium" @flags --dump-dom "file://$tmp/list.html" 2>/dev/null`);
ok(length $dom > 500, 'Chromium rendered the page');
my @rows = $dom =~ /<tr>(.*?)<\/tr>/gs;
is(scalar(@rows), 1 + @names, 'one header row and one row per listed service');
for my $n (@names) {
	(my $esc = $n) =~ s/&/&amp;/g;
	$esc =~ s/</&lt;/g;
	$esc =~ s/>/&gt;/g;
	ok((grep { index($_, $esc) >= 0 } @rows), "the row of $n is rendered");
}
like($rows[0], qr/サービス名.*Service name/s, 'headers in Japanese with English labels');
system("\"$chromium\" @flags --screenshot=$tmp/list.png --window-size=1400,900 \"file://$tmp/list.html\" >/dev/null 2>&1");
ok(-s "$tmp/list.png" > 10000, 'and it paints (a screenshot of ' . (-s "$tmp/list.png" // 0) . ' bytes)');
done_testing;
