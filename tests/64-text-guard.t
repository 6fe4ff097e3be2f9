#!/usr/bin/perl
# Text that reads as something else: bidirectional controls are refused in a
# record's data by the core (act and import, whatever the pack), naming the
# field, unless the kind allows them for that field (allow_bidi); a cell
# that starts with TAB or CR is escaped in CSV like = + - @, in the daemon's
# view and in liuctl's export, and the export reads back as it was.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;
use Encode qw(decode);
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use File::Path qw(make_path);

my $tmp = tempdir('liud-guard-XXXXXX', TMPDIR => 1, CLEANUP => 1);
# The mini pack, its kind allowing bidi controls in `quote` (and under it).
make_path("$tmp/pack/tests");
copy($_, "$tmp/pack/tests/") or die for glob 'tests/packs/mini/tests/*';
open my $in, '<', 'tests/packs/mini/main.lua' or die;
my $src = do { local $/; <$in> };
$src =~ s/id_prefix = "N-",/id_prefix = "N-", allow_bidi = { "quote" },/ or die 'kind "note" not found';
open my $out, '>', "$tmp/pack/main.lua" or die;
print $out $src;
close $out;

my $d = Liud::start_daemon(clock => '2024-06-01', rules => "$tmp/pack");
ok($d->alive, 'daemon up with a pack that allows bidi in one field') or BAIL_OUT($d->log_text);

# --- bidi controls ----------------------------------------------------------------------
my %cps = (0x202A => 'LRE', 0x202B => 'RLE', 0x202C => 'PDF', 0x202D => 'LRO', 0x202E => 'RLO',
	   0x2066 => 'LRI', 0x2067 => 'RLI', 0x2068 => 'FSI', 0x2069 => 'PDI', 0x200E => 'LRM',
	   0x200F => 'RLM', 0x061C => 'ALM');
for my $cp (sort keys %cps) {
	my $hex = sprintf '%04X', $cp;
	my $r = $d->call('act', { action => 'create', params => { text => "evil" . chr($cp) . "x" } });
	is($r->{error}{code}, -32602, "U+$hex ($cps{$cp}) in a text field is refused");
}
my $r = $d->call('act', { action => 'create', params => { text => "\x{202E}live" } });
is($r->{error}{data}{field}, 'text', 'the error names the field');
is($r->{error}{data}{reason}{en}, 'bidirectional control character U+202E is not allowed', 'in English');
is($r->{error}{data}{reason}{ja}, '双方向制御文字 (U+202E) は使用できません', 'and in Japanese');
$r = $d->call('act', { action => 'create',
		       params => { text => 'ok', meta => { notes => [ 'a', "b\x{2067}c" ] } } });
is($r->{error}{data}{field}, 'meta.notes[1]', 'a nested field is named by its path');
$r = $d->call('act', { action => 'create', params => { text => 'ok', "k\x{202E}" => 'v' } });
is($r->{error}{code}, -32602, 'a field name with a bidi control is refused too');
is($r->{error}{data}{field}, 'k\\u202E', 'named with the control written out');
is($d->ok_call('status')->{records}{note}{open} // 0, 0, 'none of those was written');

# Allowed where the kind says.
my $q = "שלום \x{202B}quoted\x{202C} text";
my $rec = $d->ok_call('act', { action => 'create',
			       params => { text => 'ok', quote => $q, quote2 => 'x' } })->{record};
is($rec->{data}{quote}, $q, 'allow_bidi = { "quote" }: that field keeps its bidi controls');
$rec = $d->ok_call('act', { action => 'create', params => { text => 'ok', quote => { by => "\x{200F}x" } } })->{record};
is($rec->{data}{quote}{by}, "\x{200F}x", 'and so does what is inside it');
$r = $d->call('act', { action => 'create', params => { text => 'ok', quote2 => "\x{200F}x" } });
is($r->{error}{data}{field}, 'quote2', 'a field that only starts with the same name is not allowed');

# An edit: the fields it changes are looked at.
my $n = $d->ok_call('act', { action => 'create', params => { text => 'plain' } })->{record}{id};
$r = $d->call('act', { action => 'edit', id => $n, params => { text => "li\x{202E}ve" } });
is($r->{error}{data}{field}, 'text', 'an edit that brings a bidi control is refused');
is(scalar(grep { $_->{outcome} eq 'ok' } @{ $d->ok_call('history', { id => $n })->{entries} }), 1,
   'and not written');
ok(!$d->call('act', { action => 'edit', id => $n, params => { other => 'y' } })->{error},
   'an edit of other fields goes through');

# Import: every row through the same guard.
$r = $d->call('import', { action => 'create', rows => [ { text => 'fine' }, { text => "x\x{2066}" } ] });
is($r->{error}{code}, -32602, 'an import with a bidi control in a row is refused, nothing written');
is($r->{error}{data}{failed}[0]{row}, 1, 'naming the row');
is($r->{error}{data}{failed}[0]{data}{field}, 'text', 'and the field');

# --- CSV: TAB and CR start a formula too ----------------------------------------------------
for my $t ("\tcmd|' /C calc'!A0", "\r=1+2", "=1+2", "+1", "-1", "\@SUM(A1)") {
	$d->ok_call('act', { action => 'create', params => { text => $t } });
}
my $csv = $d->ok_call('view', { name => 'open-notes', format => 'csv' });
for my $t ("\tcmd|' /C calc'!A0", "\r=1+2", "=1+2", "+1", "-1", "\@SUM(A1)") {
	(my $cell = "'$t") =~ s/"/""/g;
	my $name = $t =~ s/\t/TAB/r =~ s/\r/CR/r;
	ok(index($csv, "\r\n\"$cell\"\r\n") >= 0, "view CSV: a cell starting with $name is quoted and escaped with '")
		or diag(join '|', map { s/\t/\\t/gr =~ s/\r/\\r/gr } split /\r\n/, $csv);
}

# liuctl export: the same guard, and the file reads back as it was.
my $LIUCTL = bin_dir() . '/liuctl';
my $exp = `$LIUCTL --socket $d->{sock} export --kind note --format csv`;
is($? >> 8, 0, 'liuctl export --format csv');
my $ex = decode('UTF-8', $exp);
like($ex, qr/,"'\tcmd\|' \/C calc'!A0"(,|\r\n)/, 'export: a cell starting with TAB escaped with \' (and quoted, as in the view)');
like($ex, qr/,"'\r=1\+2"(,|\r\n)/, 'export: a cell starting with CR escaped with \'');
open my $xf, '>:raw', "$tmp/notes.csv" or die;
print $xf $exp;
close $xf;
my $e = Liud::start_daemon(clock => '2024-06-01', rules => "$tmp/pack");
my $imp = `$LIUCTL --socket $e->{sock} import --action create --per-row $tmp/notes.csv 2>&1`;
my %texts = map { $_->{data}{text} => 1 } @{ $e->ok_call('record.list', { limit => 1000 })->{records} };
ok($texts{"\tcmd|' /C calc'!A0"} && $texts{"\r=1+2"} && $texts{'=1+2'}, 'the export reads back to the same texts')
	or diag($imp);
$e->stop;
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
