#!/usr/bin/perl
# liuctl's tables fit the terminal: on a terminal, or
# with $COLUMNS, no line of `record list`, `view`, `deadlines`, `rules
# status` or `rules history` is wider than the width, a cut cell ends in
# "..."; on a terminal the output goes through a pager as git's does
# ($PAGER, LESS=FRX; not into a pipe, not with --no-pager); and every table
# command takes --format table|tsv|csv|json and --columns a,b.  The
# terminal is a pseudo-terminal made by script(1).
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
$LIUCTL = "$ENV{PWD}/$LIUCTL" unless $LIUCTL =~ m{^/};
my $tmp = tempdir('liud-tables-XXXXXX', TMPDIR => 1, CLEANUP => 1);
delete $ENV{$_} for qw(LIUD_SOCKET COLUMNS PAGER LIUCTL_PAGER LESS);

sub slurp { my ($p) = @_; open my $f, '<:raw', $p or return ''; local $/; my $t = <$f>; return $t // '' }

# Columns a string takes: East Asian Wide and Fullwidth two.
sub width {
	my ($s) = @_;
	my $w = 0;
	$w += /[\p{Mn}\p{Me}\p{Cf}]/ ? 0 : /[\p{East_Asian_Width=Wide}\p{East_Asian_Width=Fullwidth}]/ ? 2 : 1
		for split //, $s;
	return $w;
}
sub widest { my $m = 0; for (split /\r?\n/, $_[0]) { my $w = width($_); $m = $w if $w > $m } return $m }

# A pack with wide things in every table: long bilingual titles, a view of
# long columns, a deadline.
mkdir "$tmp/pack" or die;
open my $pf, '>:utf8', "$tmp/pack/main.lua" or die;
print $pf <<'LUA';
pack { name = "wide", title = { ja = "幅の広い表を試すためのパック", en = "a pack of wide tables" } }
role "policy" { title = { ja = "政策担当", en = "policy" },
  methods = { "record.get", "record.list", "eval", "deadlines", "rules.history" } }
role "secretariat" { title = { ja = "事務局", en = "secretariat" } }
measure "window" {
  title = { ja = "とても長い名前の特別な措置の運用期間（表の幅を試すため）",
            en = "A very long title of a temporary measure, to try the width of tables" },
  temporary = true, from = "2024-01-01", till = "2024-12-31",
}
kind "note" {
  title = { ja = "メモ", en = "note" }, id_prefix = "W-",
  summary_fields = { { id = "service_name", ja = "サービス名", en = "Service name" },
                     { id = "provider_name", ja = "事業者名", en = "Provider" } },
  states = { "open", "expired" },
}
action "create" { kind = "note", roles = { "secretariat" }, creates = true, to = "open",
  title = { ja = "作成", en = "create" } }
view "wide" {
  title = { ja = "広い一覧", en = "wide list" }, roles = { "secretariat" }, kind = "note", states = { "open" },
  marking = { ja = "取扱注意", en = "handle with care" },
  columns = { { id = "id", ja = "番号", en = "ID" },
              { id = "service_name", ja = "サービス名", en = "Service name" },
              { id = "provider_name", ja = "事業者名", en = "Provider" },
              { id = "notes", ja = "備考", en = "Notes" } },
  row = function (app, rec) return { id = rec.id, service_name = app.service_name,
                                     provider_name = app.provider_name, notes = app.notes } end,
}
on_expiry "window" { kind = "note", states = { "open" }, run = function (app, at, rec) rec.state = "expired" end }
LUA
close $pf;

my $d = Liud::start_daemon(clock => '2024-06-01T09:00:00+09:00', rules => "$tmp/pack");
my $S = $d->{sock};
my $long = 'とても長いサービスの名前、' x 6;
for my $i (1 .. 3) {
	$d->ok_call('act', { action => 'create', params => {
		service_name => "$i: $long", provider_name => "株式会社 $i " . ('Example Holdings ' x 4),
		notes => 'ＡＢＣ ' x 30 } });
}

# liuctl with output to a file (not a terminal); %env added to the environment.
sub ctl {
	my ($env, @args) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		$ENV{$_} = $env->{$_} for keys %$env;
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$tmp/out" or die;
		open STDERR, '>', "$tmp/err" or die;
		exec $LIUCTL, '--socket', $S, @args or exit 127;
	}
	waitpid($pid, 0);
	return ($? >> 8, decode('UTF-8', slurp("$tmp/out")), decode('UTF-8', slurp("$tmp/err")));
}

# liuctl on a pseudo-terminal `cols` wide: (exit status, what it showed).
sub on_tty {
	my ($cols, $env, @args) = @_;
	my $cmd = "stty cols $cols rows 50 2>/dev/null; exec " . join ' ', map { "'$_'" } $LIUCTL, '--socket', $S, @args;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		$ENV{$_} = $env->{$_} for keys %$env;
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$tmp/tty" or die;
		open STDERR, '>&', \*STDOUT or die;
		exec 'script', '-q', '-e', '-c', $cmd, '/dev/null' or exit 127;
	}
	waitpid($pid, 0);
	return ($? >> 8, decode('UTF-8', slurp("$tmp/tty")));
}

my @TABLES = ([ 'record', 'list' ], [ 'view', 'wide' ], [ 'deadlines' ], [ 'rules', 'status' ], [ 'rules', 'history' ]);

# --- the width: $COLUMNS, and a terminal ---------------------------------------------------------

for my $cmd (@TABLES) {
	my ($rc, $out, $err) = ctl({ COLUMNS => 80 }, @$cmd);
	is($rc, 0, "COLUMNS=80 @$cmd exits 0") or diag($err);
	cmp_ok(widest($out), '<=', 80, "... and no line is wider than 80 columns") or diag($out);
}
my ($rc, $out) = ctl({ COLUMNS => 80 }, 'record', 'list');
unlike($out, qr/\.\.\./, 'nothing is cut: a cell too wide wraps under itself');
like($out, qr/^W-000001 /m, 'ids whole');
like($out, qr/^ID\s+STATE\s+UPDATED\s+SERVICE NAME\s+PROVIDER/m, 'the header still names the columns (the kind, one for all, left out first)') or diag($out);
($rc, $out) = ctl({}, 'record', 'list');
cmp_ok(widest($out), '>', 80, 'into a file without $COLUMNS the table keeps its width');
($rc, $out) = ctl({ COLUMNS => 60 }, 'view', 'wide');
my @rows = grep { /^W-/ } split /\n/, $out;
is(scalar @rows, 3, 'a view fitted to 60 columns still has a row per record (the last cell wraps under itself)')
	or diag($out);
like($out, qr/取扱注意/, 'with its marking');

my $paged = "$tmp/paged";
my %PAGER = (PAGER => "cat > $paged; printf %s \"\$LESS\" > $paged.less");
SKIP: {
	my ($src) = on_tty(50, {}, 'status');
	skip 'script(1) cannot make a terminal here', 10 unless $src == 0;
	for my $cmd ([ 'view', 'wide' ], [ 'rules', 'status' ]) {
		unlink $paged, "$paged.less";
		my ($trc, $tout) = on_tty(70, \%PAGER, @$cmd);
		is($trc, 0, "@$cmd on a 70-column terminal exits 0") or diag($tout);
		my $p = decode('UTF-8', slurp($paged));
		ok(length $p, '... and goes through the pager') or diag($tout);
		cmp_ok(widest($p), '<=', 70, '... no line wider than the terminal') or diag($p);
		is(slurp("$paged.less"), 'FRX', '... with LESS=FRX');
	}
	unlink $paged;
	my ($trc, $tout) = on_tty(70, \%PAGER, '--no-pager', 'view', 'wide');
	ok(!-e $paged && $tout =~ /取扱注意/, '--no-pager prints straight to the terminal');
	unlink $paged;
	($trc, $tout) = on_tty(70, { PAGER => 'cat' }, 'record', 'list');
	like($tout, qr/^W-000001/m, 'PAGER=cat prints straight to the terminal');
}
unlink $paged;
ctl(\%PAGER, 'view', 'wide');
ok(!-e $paged, 'into a file, no pager');

# --- --format and --columns ---------------------------------------------------------------------------

for my $cmd (@TABLES) {
	($rc, $out) = ctl({}, @$cmd, '--format', 'tsv');
	is($rc, 0, "@$cmd --format tsv exits 0");
	like($out, qr/^[^\t\n]+\t[^\n]*$/m, '... tab-separated');
	($rc, $out) = ctl({}, @$cmd, '--format', 'csv');
	is($rc, 0, "@$cmd --format csv exits 0");
	like($out, qr/\A\x{FEFF}/, '... a CSV with a BOM');
	like($out, qr/\r\n\z/, '... CRLF');
	($rc, $out) = ctl({}, @$cmd, '--format', 'json');
	is($rc, 0, "@$cmd --format json exits 0");
	ok(eval { JSON::PP->new->decode($out); 1 }, '... JSON') or diag($out);
}
($rc, $out) = ctl({}, 'record', 'list', '--format', 'tsv');
my @tsv = split /\n/, $out;
is($tsv[0], join("\t", qw(id kind state updated service_name provider_name decision)), 'the TSV header gives the columns\' keys');
is(scalar(split /\t/, $tsv[1]), 7, 'a TSV row has every column');
like($tsv[1], qr/^W-000001\tnote\topen\t2024-06-01T09:00:00\+09:00\t1: とても長い/, '... whole, not cut');

($rc, $out) = ctl({}, 'record', 'list', '--columns', 'id,provider');
@rows = split /\n/, $out;
like($rows[0], qr/^ID\s+PROVIDER$/, '--columns id,provider: those two, by header');
like($rows[1], qr/^W-000001\s+株式会社 1 /, '... in that order');
($rc, $out) = ctl({}, 'record', 'list', '--columns', 'service_name,id', '--format', 'csv');
like($out, qr/\A\x{FEFF}service_name,id\r\n"?1: とても長い[^\r\n]*,W-000001\r\n/, '--columns by key, with --format csv');
($rc, $out) = ctl({}, 'view', 'wide', '--columns', 'notes,id', '--format', 'tsv');
like($out, qr/^notes\tid$/m, 'view --columns by column id');
($rc, $out) = ctl({}, 'view', 'wide', '--columns', '備考');
like($out, qr/^備考\s*$/m, 'view --columns by the Japanese header');
($rc, $out) = ctl({}, 'deadlines', '--columns', 'measure,at');
like($out, qr/^MEASURE\s+AT$/m, 'deadlines --columns');
($rc, $out) = ctl({}, 'deadlines', '--format', 'tsv');
like($out, qr/^at\tmeasure\trecords_affected\tstatus\ttitle\n2025-01-01T00:00:00\+09:00\twindow\t3\t/,
     'deadlines --format tsv: keys, then the rows whole');
($rc, $out) = ctl({}, 'rules', 'status', '--columns', 'measure,ends');
like($out, qr/^MEASURE\s+ENDS$/m, 'rules status --columns picks in its measures table');
unlike($out, qr/^ACTION/m, '... and leaves out the tables that have none of them');
($rc, $out) = ctl({}, 'rules', 'history', '--columns', 'version', '--format', 'tsv');
like($out, qr/^version\n[0-9a-f]{64}$/m, 'rules history --columns version (the TSV header is the key)');
# The machine formats carry the table only: the lines around it go to stderr.
my $err;
for my $f (qw(tsv csv)) {
	($rc, $out, $err) = ctl({}, 'rules', 'history', '--format', $f);
	my $sep = $f eq 'tsv' ? "\t" : ',';
	like($out, qr/\A\x{FEFF}?seq\Q$sep\Eversion\Q$sep\E/, "rules history --format $f starts with its header row")
		or diag($out);
	like($err, qr/^live\b.*[0-9a-f]{64}/m, '... the live version on stderr');
	($rc, $out, $err) = ctl({}, 'rules', 'status', '--format', $f);
	like($out, qr/\A\x{FEFF}?MEASURE\Q$sep\E/, "rules status --format $f starts with a table's header row")
		or diag(substr($out, 0, 300));
	unlike($out, qr/^(pack|version|dir|loaded_at|files|stats):/m, '... no line of the pack\'s facts on stdout');
	like($err, qr/^pack:/m, '... they are on stderr');
}
($rc, $out, $err) = ctl({}, 'record', 'list', '--columns', 'id,nope');
is($rc, 2, 'a column no table has exits 2');
like($err, qr/--columns: no column nope/, 'saying which');
($rc, $out, $err) = ctl({}, 'deadlines', '--format', 'xml');
is($rc, 2, 'an unknown format exits 2');
($rc, $out) = ctl({}, 'view', 'wide', '--format', 'csv');
like($out, qr/\A\x{FEFF}"?取扱注意/, 'view --format csv is still the daemon\'s CSV, marking first');

is($d->stop, 0, 'the daemon stops cleanly');
done_testing();
