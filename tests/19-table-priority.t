#!/usr/bin/perl
# A pack says what its columns are called on a narrow terminal and which go
# first: a field's, a summary field's or a view column's `short = { ja, en }`
# heads the table on a terminal (TSV keeps the column's key), and
# `priority` 1 to 9 decides which columns a table too wide for the terminal
# leaves out first (the highest; none counts as 5), over the order the
# columns are in.  A bad short or priority is refused when the pack loads.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Encode qw(decode);

my $tmp = tempdir('liud-prio-XXXXXX', TMPDIR => 1, CLEANUP => 1);
delete $ENV{$_} for qw(LIUD_SOCKET COLUMNS PAGER LIUCTL_PAGER LESS);

sub pack_dir {
	my ($name, $kind_extra, $view_cols) = @_;
	mkdir "$tmp/$name" or die;
	open my $f, '>:utf8', "$tmp/$name/main.lua" or die;
	print $f <<LUA;
pack { name = "prio", title = { ja = "列の優先度", en = "column priority" } }
role "secretariat" { title = { ja = "事務局", en = "secretariat" } }
kind "note" {
  title = { ja = "メモ", en = "note" }, id_prefix = "P-", states = { "open" },
  fields = {
    title = { type = "text", ja = "件名", en = "Title" },
    owner = { type = "text", ja = "担当している部署の名前", en = "Department in charge",
              short = { ja = "担当", en = "Dept" } },
    remark = { type = "text", ja = "備考", en = "Remark", priority = 9 },
    at = { type = "text", ja = "時刻", en = "At" },
  },
  $kind_extra
}
action "create" { kind = "note", roles = { "secretariat" }, creates = true, to = "open",
  title = { ja = "作成", en = "create" } }
view "notes" {
  title = { ja = "一覧", en = "notes" }, roles = { "secretariat" }, kind = "note", states = { "open" },
  columns = { $view_cols },
  row = function (app, rec) return { id = rec.id, title = app.title, owner = app.owner, remark = app.remark } end,
}
view "times" {
  title = { ja = "時刻", en = "times" }, roles = { "secretariat" }, kind = "note", states = { "open" },
  columns = { { id = "id", ja = "番号", en = "ID" }, "at" },
  row = function (app, rec) return { id = rec.id, at = app.at } end,
}
LUA
	close $f;
	return "$tmp/$name";
}

my $good = pack_dir('good', 'summary_fields = { "remark", { id = "title", priority = 2 }, "owner" },',
		    '{ id = "id", ja = "番号", en = "ID" }, "remark", { id = "title", priority = 1 }, "owner"');
my $d = Liud::start_daemon(clock => '2024-06-01T09:00:00+09:00', rules => $good);
for my $i (1 .. 2) {
	$d->ok_call('act', { action => 'create', params => {
		title => "件名その${i}：打ち合わせの記録", owner => "総務部 企画課 第${i}係",
		remark => "特になし、後日確認のこと $i",
		at => ('2025-03-31T15:00:00Z', '2024-12-31T23:30:59.5-01:00')[$i - 1] } });
}

# --- instants in Japan time ----------------------------------------------------------------------

my ($rc, $out, $err) = $d->liuctl('view', 'times');
like($out, qr/^P-000001\s+2025-04-01 00:00$/m, 'an instant in UTC shows in Japan time, to the minute') or diag($out);
like($out, qr/^P-000002\s+2025-01-01 09:30$/m, '... one at another offset, with a fraction, too') or diag($out);
($rc, $out) = $d->liuctl('view', 'times', '--format', 'tsv');
like($out, qr/^P-000001\t2025-03-31T15:00:00Z$/m, 'TSV keeps the value as it is') or diag($out);

# --- short titles --------------------------------------------------------------------------------

($rc, $out, $err) = $d->liuctl('view', 'notes');
is($rc, 0, 'view notes exits 0') or diag($err);
like($out, qr/^番号\s+備考\s+件名\s+担当$/m, 'a terminal table heads a column with its field\'s short title (ja)') or diag($out);
like($out, qr/^ID\s+Remark\s+Title\s+Dept$/m, '... and (en)') or diag($out);
unlike($out, qr/担当している部署/, '... not its long one') or diag($out);
($rc, $out) = $d->liuctl('record', 'list');
like($out, qr/^ID\s+KIND\s+STATE\s+UPDATED\s+REMARK\s+TITLE\s+DEPT\s+DECISION$/m, 'record list: the summary field\'s short title')
	or diag($out);
($rc, $out) = $d->liuctl('view', 'notes', '--format', 'tsv');
like($out, qr/^id\tremark\ttitle\towner$/m, 'TSV keeps the columns\' keys') or diag($out);
($rc, $out) = $d->liuctl('view', 'notes', '--columns', 'id,dept');
like($out, qr/^P-000001\s+総務部/m, '--columns names a column by its short title too') or diag($out);

# --- priority -----------------------------------------------------------------------------------

$ENV{COLUMNS} = 60;
($rc, $out, $err) = $d->liuctl('view', 'notes');
is($rc, 0, 'COLUMNS=60 view notes exits 0') or diag($err);
like($out, qr/^番号\s+件名\s+担当$/m, 'the column of priority 9 is left out first, though not the rightmost') or diag($out);
like($out, qr/left out to fit 60 columns: remark;/, '... and the note names it') or diag($out);
$ENV{COLUMNS} = 64;
($rc, $out) = $d->liuctl('record', 'list');
like($out, qr/^ID\s+STATE\s+TITLE\s+DEPT\s+DECISION$/m,
     'record list: the field\'s priority 9, then the kind and the update time, go before the title (2) and the default')
	or diag($out);
like($out, qr/left out to fit 64 columns: remark, kind, updated;/, '... in that order') or diag($out);
delete $ENV{COLUMNS};
($rc, $out) = $d->liuctl('view', 'notes');
unlike($out, qr/left out/, 'into a file without $COLUMNS nothing is left out') or diag($out);
$d->stop;

# --- a bad declaration is refused ----------------------------------------------------------------

my @bad = (
	[ 'summary_fields = { { id = "title", priority = 10 } },', '"id"', qr/summary_fields\[1\]: priority = 1 to 9/ ],
	[ 'summary_fields = { { id = "title", priority = 1.5 } },', '"id"', qr/summary_fields\[1\]: priority = 1 to 9/ ],
	[ '', '"id", { id = "title", short = "件" }', qr/columns\[2\]: short = \{ ja = "\.\.\.", en = "\.\.\." \}/ ],
	[ '', '"id", { id = "title", shrot = { en = "T" } }', qr/columns\[2\]: unknown key `shrot` \(a column takes: id, ja, en, short, priority\)/ ],
	[ 'summary_fields = { { id = "title", short = { en = 3 } } },', '"id"', qr/summary_fields\[1\]: short = / ],
);
my $n = 0;
for my $b (@bad) {
	my $dir = pack_dir('bad' . $n++, $b->[0], $b->[1]);
	my $got = decode("UTF-8", `bin/liud check '$dir' 2>&1`);
	isnt($?, 0, "liud check refuses: $b->[0]$b->[1]");
	like($got, $b->[2], '... saying what is wrong') or diag($got);
}
my $dir = pack_dir('badfield', '', '"id"');
system('sed', '-i', 's/priority = 9/priority = 0/', "$dir/main.lua");
my $got = decode("UTF-8", `bin/liud check '$dir' 2>&1`);
isnt($?, 0, 'a field\'s priority 0 is refused');
like($got, qr/fields: remark: priority = 1 to 9/, '... naming the field') or diag($got);

done_testing;
