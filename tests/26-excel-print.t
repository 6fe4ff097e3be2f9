#!/usr/bin/perl
# A workbook the secretariat prints from Excel keeps what the printed HTML
# list keeps (docs/OPERATIONS.md): A4 landscape, the handling marking and
# the header row on every page (print titles and the page header), and
# page numbers in the footer; the columns fit the page's width.  Read
# back with python3-openpyxl.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;
use Encode qw(encode);
use File::Temp qw(tempdir);
use JSON::PP;

my $PY = '/usr/bin/python3'; # Debian's, where python3-openpyxl is
plan skip_all => 'python3-openpyxl is not installed (sh scripts/deps.sh --test)'
	unless system($PY, '-c', 'import openpyxl') == 0;

my $tmp = tempdir('liuctl-xlsx-print-XXXXXX', TMPDIR => 1, CLEANUP => 1);
delete $ENV{LIUD_SOCKET};
my $MARK = '政府機関等限りの取扱いとし、対外公表はいたしません';

my $d = Liud::start_daemon(clock => '2024-06-01T09:00:00+09:00');
for (1 .. 3) {
	my $r = $d->ok_call('act', { action => 'submit', params => Liud::good_app() });
	$d->ok_call('act', { action => 'confirm', id => $r->{id} // $r->{record}{id} });
}

open my $s, '>:raw', "$tmp/s.py" or die;
print $s encode('UTF-8', <<'PY');
import json, sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1]).active
ps = ws.page_setup
print(json.dumps({
    "orientation": ps.orientation, "paper": ps.paperSize,
    "titles": ws.print_title_rows,
    "header": ws.oddHeader.center.text, "footer": ws.oddFooter.center.text,
    "fit_width": ps.fitToWidth, "fit_height": ps.fitToHeight,
    "fit": ws.sheet_properties.pageSetUpPr.fitToPage if ws.sheet_properties.pageSetUpPr else None,
}))
PY
close $s;

for my $case ([ 'view service-list', 'view', 'service-list' ], [ 'export', 'export' ]) {
	my ($name, @args) = @$case;
	my $file = "$tmp/$args[0].xlsx";
	my ($rc, $out, $err) = $d->liuctl(@args, '--format', 'xlsx', '--output', $file);
	is($rc, 0, "$name --format xlsx") or diag $err;
	open my $p, '-|', $PY, "$tmp/s.py", $file or die "python3: $!";
	my $j = eval { JSON::PP->new->decode(do { local $/; <$p> } // '') } // {};
	close $p;
	is($j->{orientation}, 'landscape', "$name: printed landscape");
	is($j->{paper}, 9, '... on A4');
	like($j->{titles} // '', qr{^\$?1:\$?2$}, '... the marking and the header row on every page') or diag explain $j;
	like($j->{header} // '', qr/\Q$MARK\E/, '... the marking in the page header too');
	like($j->{footer} // '', qr/&\[?Page\]?.*&\[?Pages\]?|&P.*&N/, '... the page number and the page count in the footer')
		or diag explain $j;
	ok($j->{fit} && ($j->{fit_width} // 1) == 1 && defined $j->{fit_height} && $j->{fit_height} == 0,
	   '... as wide as one page, as long as it needs') or diag explain $j;
}

done_testing;
