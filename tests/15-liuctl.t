#!/usr/bin/perl
# liuctl, the client, against real daemons: exit statuses (0 ok, 1 error reply
# with both languages of the reason on stderr, 2 usage with the command's
# usage, 3 no daemon), --json, tables aligned by display width with Japanese
# in them, CSV with a BOM and CRLF, the usage generated from the command table,
# and what the build generates from the same table: the bash completion script
# (which must equal the committed contrib/completion/liuctl.bash) and the
# COMMANDS section of liuctl(1).  The man pages are built when scdoc is there.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;
use Encode qw(decode);
use File::Temp qw(tempdir);

my $LIUCTL = bin_dir() . '/liuctl';
my $tmp = tempdir('liuctl-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);
delete $ENV{LIUD_SOCKET};

# The commands of liuctl's table, by their words, in --help order.
my @COMMANDS = ('status', 'record get', 'record list', 'act', 'eval', 'view', 'history',
		'deadlines', 'enforce', 'rules status', 'rules check', 'rules diff',
		'rules reload', 'rules history', 'rules rollback', 'audit verify', 'import', 'export', 'backup',
		'metrics', 'clock set', 'call', 'help');
my %TOP = map { (split / /)[0] => 1 } @COMMANDS;

sub slurp { my ($p) = @_; open my $f, '<:raw', $p or return ''; local $/; my $t = <$f>; return $t // '' }

# Runs a command; returns (exit status, stdout bytes, stderr bytes).
sub run_raw {
	my (@cmd) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$tmp/out" or die;
		open STDERR, '>', "$tmp/err" or die;
		exec @cmd or exit 127;
	}
	waitpid($pid, 0);
	return ($? >> 8, slurp("$tmp/out"), slurp("$tmp/err"));
}

# liuctl on a socket; returns (exit status, stdout, stderr), text decoded.
sub ctl {
	my ($sock, @args) = @_;
	my ($rc, $out, $err) = run_raw($LIUCTL, ($sock ? ('--socket', $sock) : ()), @args);
	return ($rc, decode('UTF-8', $out), decode('UTF-8', $err));
}

# Columns a string takes on a terminal: East Asian wide characters two.
sub width {
	my ($s) = @_;
	my $w = 0;
	$w += /[\x{1100}-\x{115F}\x{2E80}-\x{303E}\x{3041}-\x{33FF}\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{AC00}-\x{D7A3}\x{F900}-\x{FAFF}\x{FF00}-\x{FF60}\x{FFE0}-\x{FFE6}]/ ? 2 : 1
		for split //, $s;
	return $w;
}

# The display column where each cell of a table line starts (cells are
# separated by two spaces or more, and hold none themselves).
sub cell_columns {
	my ($line) = @_;
	my @cols;
	while ($line =~ /(\S+(?: \S+)*)/g) {
		push @cols, width(substr($line, 0, $-[1]));
	}
	return \@cols;
}

my $d = Liud::start_daemon(clock => '2024-06-01T09:00:00+09:00', rules => 'tests/packs/mini');
my $S = $d->{sock};

# --- success, --json ------------------------------------------------------------

my ($rc, $out, $err) = ctl($S, 'status');
is($rc, 0, 'status exits 0');
like($out, qr/^clock:\s+2024-06-01T09:00:\d\d\+09:00 \(test\)$/m, 'and shows the test clock');

($rc, $out, $err) = ctl($S, '--json', 'status');
is($rc, 0, '--json status exits 0');
my $st = eval { json()->decode(Encode::encode('UTF-8', $out)) };
ok($st && ref $st eq 'HASH', '--json status prints valid JSON') or diag($out);
is($st->{clock}{mode}, 'test', 'the raw result: clock mode');
is($st->{rules}{name}, 'mini', 'the raw result: the pack');
($rc, $out) = ctl($S, 'status', '--json');
is(json()->decode(Encode::encode('UTF-8', $out))->{rules}{name}, 'mini', '--json may come after the command');

($rc, $out, $err) = ctl($S, 'act', 'create', 'text=最初のメモ', 'service_name=クラウド会計');
is($rc, 0, 'act create with key=value pairs exits 0');
like($out, qr/^ok: N-000001 rev 1 state open$/m, 'and says what it did');
ctl($S, 'act', 'create', '--params', '{"text":"二つ目"}');

# --- an error reply: exit 1, the code and both languages on stderr ------------

($rc, $out, $err) = ctl($S, 'act', 'close', 'N-000001', 'refuse=true');
is($rc, 1, 'a refused action exits 1');
like($err, qr/^liuctl: error -32004: /, 'stderr starts with the error code');
like($err, qr/^  拒否します$/m, 'the reason in Japanese');
like($err, qr/^liuctl: error -32004: .*refused as asked$/m, 'the reason in English, in the message');
is(scalar(() = $err =~ /refused as asked/g), 1, 'once');
is($out, '', 'nothing on stdout');
($rc, $out, $err) = ctl($S, 'act', 'create', 'nottext=1');
is($rc, 1, 'a record failing validation exits 1');
like($err, qr/^liuctl: error -32602: .*text: text is required\n  text: 本文は必須です$/m,
     'with the field and both languages, the English one said once');
($rc, $out, $err) = ctl($S, 'record', 'get', 'N-424242');
is($rc, 1, 'an unknown record exits 1');
like($err, qr/^liuctl: error -32002: /, 'with -32002');

# --- usage: exit 2 with the command's usage -------------------------------------

($rc, $out, $err) = ctl($S, 'bogus');
is($rc, 2, 'an unknown command exits 2');
like($err, qr/^liuctl: unknown command: bogus$/m, 'saying so');
($rc, $out, $err) = ctl($S, 'rules', 'bogus');
is($rc, 2, 'an unknown subcommand exits 2');
like($err, qr/^  liuctl rules status \[--format table\|tsv\|csv\|json\] \[--columns <list>\]$/m, 'listing the commands of that group');
like($err, qr/^  liuctl rules reload \[<path>\] \[--force\]$/m, 'all of them');
($rc, $out, $err) = ctl($S, 'record', 'get');
is($rc, 2, 'a missing argument exits 2');
like($err, qr/^liuctl: missing <id>$/m, 'naming the argument');
like($err, qr/^usage:\n  liuctl record get <id> \[--full\]\n/m, "and printing that command's usage");
($rc, $out, $err) = ctl($S, 'act');
is($rc, 2, 'act without an action exits 2');
like($err, qr/^  liuctl act <action> \[<id>\] \[key=value \.\.\.\]/m, "with act's usage");
($rc, $out, $err) = ctl($S, 'record', 'list', '--limit', 'many');
is($rc, 2, 'a bad option value exits 2');
like($err, qr/limit: not a whole number: many/, 'saying why');
($rc, $out, $err) = ctl($S, 'record', 'list', '--bogus');
is($rc, 2, 'an unknown option exits 2');

# --- no daemon: exit 3 --------------------------------------------------------------

($rc, $out, $err) = ctl("$tmp/nobody.sock", 'status');
is($rc, 3, 'no daemon on the socket exits 3');
like($err, qr/^liuctl: cannot connect to \Q$tmp\E\/nobody\.sock: .*is liud running\?$/m, 'saying so');
{
	local $ENV{LIUD_SOCKET} = "$tmp/nobody.sock";
	($rc) = ctl(undef, 'status');
	is($rc, 3, '$LIUD_SOCKET names the socket when --socket is not given');
	local $ENV{LIUD_SOCKET} = $S;
	($rc) = ctl(undef, 'status');
	is($rc, 0, '... and reaches the daemon there');
}

# --- a view as CSV: BOM and CRLF --------------------------------------------------

my ($crc, $csv) = run_raw($LIUCTL, '--socket', $S, 'view', 'open-notes', '--format', 'csv');
is($crc, 0, 'view --format csv exits 0');
is(substr($csv, 0, 3), "\xEF\xBB\xBF", 'the CSV starts with the UTF-8 BOM');
my @lines = split /(?<=\n)/, $csv;
ok(@lines >= 3, 'a header and a row per open note') or diag($csv);
is(scalar(grep { !/\r\n\z/ } @lines), 0, 'every line ends in CRLF');
like(decode('UTF-8', $csv), qr/本文 \(Text\)\r\n.*最初のメモ\r\n/s, 'headers "ja (en)", the Japanese text as it is');

($rc, $out) = ctl($S, 'view', 'open-notes');
is($rc, 0, 'the view as a table exits 0');
like($out, qr/^本文\n\QText\E\n最初のメモ\n二つ目$/m, 'Japanese headers over English, then the rows');

# --- a table with Japanese in it lines up by display width -----------------------

my $packdir = "$tmp/wide";
mkdir $packdir or die;
open my $pf, '>:utf8', "$packdir/main.lua" or die;
print $pf <<'LUA';
-- Japanese in the kind and state columns, so alignment needs display widths.
pack { name = "wide", title = { ja = "表示幅", en = "display width" } }
kind "メモ" {
  id_prefix = "M-",
  states = { "受付中", "完了", "ok" },
  summary_fields = { { id = "service_name", ja = "サービス名", en = "Service" } },
  validate = function (app, err)
    if type(app.text) ~= "string" then err("text", "本文は必須です", "text is required") end
  end,
}
role "secretariat" { title = { ja = "事務局", en = "secretariat" } }
action "create" { kind = "メモ", roles = { "secretariat" }, creates = true, to = "受付中" }
action "close" { kind = "メモ", roles = { "secretariat" }, from = { "受付中" }, to = "完了" }
action "okay" { kind = "メモ", roles = { "secretariat" }, from = { "受付中" }, to = "ok" }
LUA
close $pf;
my $w = Liud::start_daemon(clock => '2024-06-01T09:00:00+09:00', rules => $packdir);
my $WS = $w->{sock};
ctl($WS, 'act', 'create', "text=t$_", "service_name=サービス$_") for 1 .. 3;
ctl($WS, 'act', 'close', 'M-000002');
ctl($WS, 'act', 'okay', 'M-000003');
($rc, $out) = ctl($WS, 'record', 'list');
is($rc, 0, 'record list exits 0');
my @rows = split /\n/, $out;
is(scalar @rows, 4, 'a header and three records') or diag($out);
like($rows[1], qr/^M-000001\s+メモ\s+受付中\s+2024-06-01 09:00\s+サービス1\s+\S+$/,
     'Japanese kind, state and summary field in the table (the time in Japan time, to the minute), then the decision');
like($rows[0], qr/^ID\s+KIND\s+STATE\s+UPDATED\s+SERVICE\s+DECISION$/, 'the kind\'s summary field after the fixed columns, then eval\'s decision');
my $head = cell_columns($rows[0]);
is(scalar @$head, 6, 'six columns') or diag($rows[0]);
for my $i (1 .. $#rows) {
	is_deeply(cell_columns($rows[$i]), $head, "row $i starts each cell at its header's display column")
		or diag("$rows[0]\n$rows[$i]");
}
($rc, $out) = ctl($WS, 'record', 'list', '--limit', '1');
like($out, qr/^more after M-000001: use --after M-000001 or --all$/m, 'one page, with how to get the next');
($rc, $out) = ctl($WS, '--json', 'record', 'list', '--limit', '1', '--all');
is(scalar @{ json()->decode(Encode::encode('UTF-8', $out))->{records} }, 3, '--all follows every page');
$w->stop;

# --- usage generated from the table -------------------------------------------------

($rc, $out) = ctl(undef, '--help');
is($rc, 0, '--help exits 0');
for my $c (@COMMANDS) {
	like($out, qr/^  liuctl \Q$c\E(?: |$)/m, "--help lists `$c`");
}
my @listed = $out =~ /^  liuctl (\S+(?: [a-z]+)*)/mg;
s/ (?:<|\[).*// for @listed;
is(scalar @listed, scalar @COMMANDS, '... and nothing else (hidden commands stay hidden)')
	or diag(join ', ', @listed);
unlike($out, qr/completion|manual/, 'the generators are not listed');
($rc, $out) = ctl(undef, 'help', 'act');
is($rc, 0, 'help act exits 0');
like($out, qr/^  liuctl act <action> \[<id>\] \[key=value \.\.\.\] \[--params <json\|\@file\|->\] \[--if-rev <n>\]\n/,
     "help act prints act's usage");
like($out, qr/^        method act \{action, id\?, params\?, if_rev\?\}$/m, 'with its method and params');
unlike($out, qr/liuctl status/, 'and no other command');
($rc, $out) = ctl(undef, 'act', '--help');
is($rc, 0, 'act --help exits 0');
like($out, qr/^  liuctl act <action>/m, 'and prints the same usage');
($rc, $out) = ctl(undef, 'help', 'rules');
is(scalar(() = $out =~ /^  liuctl rules /mg), 6, 'help rules: the six rules commands');

# --- the bash completion script --------------------------------------------------------

my ($grc, $gen) = run_raw($LIUCTL, 'completion', 'bash');
is($grc, 0, 'completion bash exits 0');
is($gen, slurp('contrib/completion/liuctl.bash'),
   'the generated script is identical to contrib/completion/liuctl.bash (make completion)');
my ($firsts) = $gen =~ /^\t''\) echo '([^']*)' ;;$/m;
ok(defined $firsts, 'the script lists the first words of the commands');
is_deeply([ sort split / /, $firsts // '' ], [ sort keys %TOP ], 'every top-level command, and only those');
for my $c (@COMMANDS) {
	like($gen, qr/^\t'\Q$c\E'\)/m, "the script knows `$c`");
}

SKIP: {
	skip 'no bash', 6 unless -x '/bin/bash';
	# What bash would offer for the line typed so far.
	my $complete = sub {
		my ($line) = @_;
		my ($brc, $bout, $berr) = run_raw('/bin/bash', '-c',
			'source contrib/completion/liuctl.bash || exit 9; COMP_LINE=$1; COMP_POINT=${#COMP_LINE}; ' .
			'_liuctl; printf "%s\n" "${COMPREPLY[@]}"', '_', $line);
		diag($berr) if $brc;
		return join ' ', sort split /\n/, decode('UTF-8', $bout);
	};
	is($complete->('liuctl ru'), 'rules', 'completes a command');
	is($complete->('liuctl rules '), 'check diff history reload rollback status', 'and a group\'s subcommands');
	is($complete->('liuctl record list --'), '--after --all --columns --date --decision --format --from --help --json --kind --limit --search --sort --state --to', 'and options');
	is($complete->('liuctl view x --format '), 'csv html json table tsv xlsx', 'and an option\'s choices');
	is($complete->("$LIUCTL --socket $S act "), 'close create edit touch', 'action names from the live pack');
	is($complete->("$LIUCTL -s $S view "), 'open-notes', 'view names from the live pack');
}

# --- the man pages ------------------------------------------------------------------------

my $page = decode('UTF-8', slurp('contrib/man/liuctl.1.scd'));
my ($grc2, $sec) = run_raw($LIUCTL, 'manual', 'scdoc');
is($grc2, 0, 'manual scdoc exits 0');
my ($inpage) = $page =~ /^; BEGIN COMMANDS\n(.*?)^; END COMMANDS$/ms;
is($inpage, decode('UTF-8', $sec), "liuctl(1)'s COMMANDS section is what the table generates (make man-commands)");
for my $c (@COMMANDS) {
	like($page, qr/^\*\Q$c\E\*/m, "liuctl(1) documents `$c`");
}

# liud(8): every option of `liud --help`.
my (undef, $lhelp) = run_raw(bin_dir() . '/liud', '--help');
my $l8 = decode('UTF-8', slurp('contrib/man/liud.8.scd'));
my @opts = $lhelp =~ /(?:^|\s)(--[a-z-]+|-[a-zA-Z])\b/mg;
ok(@opts >= 8, 'liud --help has its options') or diag($lhelp);
for my $o (@opts) {
	like($l8, qr/\*\Q$o\E\*/, "liud(8) documents $o");
}
like($l8, qr/^\*liud test\* \[_rules-dir_\]$/m, 'and liud test');
like($l8, qr/^\*liud check\* \[_rules-dir_\]$/m, 'and liud check');

# liud.conf(5): every setting of etc/liud.conf.
my $c5 = decode('UTF-8', slurp('contrib/man/liud.conf.5.scd'));
my ($section, @settings) = ('');
for (split /\n/, decode('UTF-8', slurp('etc/liud.conf'))) {
	s/--.*//;
	if (/^(\w+)\s*=\s*\{\s*$/) { $section = $1; next }
	if (/^\}/) { $section = ''; next }
	push @settings, $1 if $section eq '' && /^(\w+)\s*=/;
	push @settings, $section eq 'roles' ? $1 : "$section.$1" if $section ne '' && /^\s+(\w+)\s*=/;
}
ok(@settings >= 15, 'etc/liud.conf has its settings') or diag("@settings");
for my $s (@settings) {
	like($c5, qr/^\*\Q$s\E\*/m, "liud.conf(5) documents $s");
}

my @pages = sort glob 'contrib/man/*.scd';
is(scalar @pages, 4, 'four man pages: liud(8), liuctl(1), liud.conf(5), liud-rules(7)');
SKIP: {
	my ($dir) = grep { -x "$_/scdoc" } split /:/, $ENV{PATH};
	skip 'scdoc is not installed: the man pages are not built', scalar @pages unless $dir;
	for my $f (@pages) {
		my ($src_rc, $man, $why) = run_raw('/bin/sh', '-c', "exec \"\$0\" < \"\$1\"", "$dir/scdoc", $f);
		ok($src_rc == 0 && $man =~ /^\.TH /m, "$f builds with scdoc") or diag($why);
	}
}

# The make targets that keep both from drifting (run as CI would).
SKIP: {
	my $make = (grep { -x "$_/make" } split /:/, $ENV{PATH})[0];
	skip 'no make', 1 unless $make;
	local %ENV = %ENV;
	delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES)};
	my ($mrc, $mout, $merr) = run_raw("$make/make", '-s', '--no-print-directory',
		($ENV{LIUD_SAN} ? 'SAN=1' : ()), 'completion-check', 'man-check');
	is($mrc, 0, 'make completion-check man-check pass') or diag($mout . $merr);
}

ok($d->alive, 'the daemon is still up');
done_testing;
