#!/usr/bin/perl
# The pack, not the core, says how its records are listed and how its views
# are marked.  A pack that declares no marking gets none, in any format of
# any view; `liuctl record list` shows id, kind, state and updated, then the
# kind's summary fields, and no column of any one measure.  The ISMAP-LIU
# pack declares its service list's handling marking (the notice:
# 「政府機関等限りの取扱いとし、対外公表はいたしません」), and every format of
# the list carries it: the CSV in its first line, the HTML page, the JSON
# reply and liuctl's table.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use Encode qw(decode);

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
my $LIUCTL = Liud::bin_dir() . '/liuctl';
sub ctl { my $s = shift; my $o = decode('UTF-8', scalar `$LIUCTL --socket $s @_ 2>&1`); return ($? >> 8, $o) }
my $MARK = '政府機関等限りの取扱いとし、対外公表はいたしません';

# --- a pack that declares no marking and no summary fields ----------------------

my $m = Liud::start_daemon(rules => 'tests/packs/mini', clock => '2024-06-01T09:00:00+09:00');
$m->ok_call('act', { action => 'create', params => { text => 'メモ', service_name => 'x' } });
my $html = $m->ok_call('view', { name => 'open-notes', format => 'html' });
like($html, qr/<td>メモ<\/td>/, 'mini: the HTML view lists the note');
unlike($html, qr/政府機関|class="notice"|government bodies/, 'mini: no handling marking in the HTML');
my $csv = $m->ok_call('view', { name => 'open-notes', format => 'csv' });
like($csv, qr/\A\x{feff}本文 \(Text\)\r\n/, 'mini: the CSV starts with its header, no marking line');
my $json = $m->ok_call('view', { name => 'open-notes' });
ok(!exists $json->{marking}, 'mini: no marking in the JSON view');
my ($rc, $out) = ctl($m->{sock}, 'record', 'list');
is($rc, 0, 'mini: record list exits 0');
my @l = split /\n/, $out;
is_deeply([ split ' ', $l[0] ], [qw(ID KIND STATE UPDATED DECISION)], 'mini: the columns are id, kind, state, updated, and eval\'s decision')
	or diag($out);
unlike($out, qr/SERVICE/, 'mini: no SERVICE column');
($rc, $out) = ctl($m->{sock}, 'view', 'open-notes');
unlike($out, qr/政府機関|government/, 'mini: liuctl view prints no marking');
is($m->stop, 0, 'mini: the daemon stops cleanly');

# --- the ISMAP-LIU pack: a marked list, summary fields --------------------------

my $d = Liud::start_daemon(clock => '2024-06-01T10:00:00+09:00');
my $id = $d->ok_call('act', { action => 'submit', params => Liud::good_app(service_name => '中立SaaS') })->{record}{id};
$d->ok_call('act', { action => 'confirm', id => $id });
$csv = $d->ok_call('view', { name => 'service-list', format => 'csv' });
my @lines = split /\r\n/, $csv;
like($lines[0], qr/\A\x{feff}"?\Q$MARK\E/, 'the service list\'s CSV: its first line is the handling marking')
	or diag($lines[0]);
like($lines[1], qr/^番号 \(ID\),/, 'then the header');
like($lines[2], qr/中立SaaS/, 'then the rows');
$html = $d->ok_call('view', { name => 'service-list', format => 'html' });
like($html, qr/<p class="notice">\Q$MARK\E/, 'the HTML page carries the pack\'s marking');
unlike($html, qr/公開禁止/, 'and not a marking of the core\'s own');
like($html, qr{<title>[^<]*【\Q$MARK\E】</title>}, 'its title too (a browser tab, a printed page header)');
like($html, qr{作成日時 2024年6月1日 10:\d\d / Generated: 2024-06-01T10:}, 'when it was made: in words in Japanese, ISO in English');
($rc, $out) = ctl($d->{sock}, 'view', 'service-list', '--format', 'print');
is($rc, 2, 'view --format print: a usage error');
like($out, qr/--format print: use table, tsv, csv, json, html or xlsx/, 'naming every format of a view, html and xlsx too');
$json = $d->ok_call('view', { name => 'service-list' });
is($json->{marking}{ja}, $MARK, 'the JSON view carries the marking (ja)');
like($json->{marking}{en}, qr/government/i, 'and in English');
($rc, $out) = ctl($d->{sock}, 'view', 'service-list');
like($out, qr/\Q$MARK\E/, 'liuctl view prints the marking');
($rc, $out) = ctl($d->{sock}, 'record', 'list');
@l = split /\n/, $out;
like($l[0], qr/^ID\s+KIND\s+STATE\s+UPDATED\s+SERVICE NAME\s+PROVIDER\s+DECISION$/,
     'record list: id, kind, state, updated, then the kind\'s summary fields') or diag($out);
like($l[1], qr/^\Q$id\E\s.*中立SaaS\s+株式会社テスト\s+eligible$/, 'with the record\'s values');
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
