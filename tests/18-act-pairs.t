#!/usr/bin/perl
# liuctl act and clock set, as a clerk and an operator type them: key=value
# pairs with dotted paths build nested params, a long digit string (a
# 13-digit 法人番号) stays a string, an error's English reason is printed
# once, `clock set` into the past warns, `status` uptime never runs back, and
# `act --help` lists the live pack's actions with the params they declare.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Encode qw(decode);
use JSON::PP;

my $LIUCTL = bin_dir() . '/liuctl';
my $tmp = tempdir('liuctl-p-XXXXXX', TMPDIR => 1, CLEANUP => 1);
sub slurp { my ($p) = @_; open my $f, '<:raw', $p or return ''; local $/; my $t = <$f>; return $t // '' }
sub ctl {
	my ($sock, @args) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$tmp/out" or die;
		open STDERR, '>', "$tmp/err" or die;
		exec $LIUCTL, ($sock ? ('--socket', $sock) : ()), @args or exit 127;
	}
	waitpid($pid, 0);
	return ($? >> 8, decode('UTF-8', slurp("$tmp/out")), decode('UTF-8', slurp("$tmp/err")));
}

my $d = Liud::start_daemon(rules => 'tests/packs/mini', clock => '2024-06-01');
ok($d->alive, 'daemon up') or BAIL_OUT($d->log_text);
my $S = $d->{sock};

# --- pairs --------------------------------------------------------------------------------
my ($rc, $out, $err) = ctl($S, 'act', 'create', 'text=a note', 'corp.number=8700110005901',
			   'corp.name=株式会社テスト', 'a.b.c=v', 'count=5', 'big=12345678901234567890',
			   'zip=0600000', '--json');
is($rc, 0, 'act with dotted pairs: ok') or diag($err);
my $data = eval { decode_json(Encode::encode('UTF-8', $out))->{record}{data} } // {};
is_deeply($data->{corp}, { number => '8700110005901', name => '株式会社テスト' },
	  'corp.number=... corp.name=...: one nested object');
is_deeply($data->{a}, { b => { c => 'v' } }, 'a.b.c=v: three levels');
ok(!ref $data->{corp}{number} && JSON::PP->new->encode([$data->{corp}{number}]) eq '["8700110005901"]',
   'a 13-digit 法人番号 is sent as a string');
is(JSON::PP->new->encode([$data->{count}]), '[5]', 'a small whole number is still a number');
is(JSON::PP->new->encode([$data->{big}]), '["12345678901234567890"]', 'a long digit string: a string, every digit kept');
is($data->{zip}, '0600000', 'a leading zero: a string');
($rc, $out, $err) = ctl($S, 'act', 'create', 'text=x', 'a=1', 'a.b=2');
is($rc, 2, 'a=1 a.b=2: a usage error');
like($err, qr/a\.b: a is already given a value that is not an object/, 'naming the key');
($rc, $out, $err) = ctl($S, 'act', 'create', 'text=x', 'a..b=2');
is($rc, 2, 'an empty part of a dotted key: a usage error');

# --- an error's English reason, once --------------------------------------------------
my $id = $d->ok_call('act', { action => 'create', params => { text => 'n' } })->{record}{id};
($rc, $out, $err) = ctl($S, 'act', 'touch', $id, 'bad=1');
is($rc, 1, 'an invalid param: an error reply');
my @en = $err =~ /bad value/g;
is(scalar @en, 1, 'the English reason is printed once') or diag($err);
like($err, qr/不正な値です/, 'the Japanese one too');
($rc, $out, $err) = ctl($S, 'act', 'close', $id, 'refuse=true');
@en = $err =~ /refused as asked/g;
is(scalar @en, 1, 'a refusal: its English reason once') or diag($err);
like($err, qr/拒否します/, 'and the Japanese');
unlike($err, qr/\bnil\b/, 'no Lua nil in a message');

# --- a param the pack declares as text is sent as typed ----------------------------------
{
	my $n = $d->ok_call('act', { action => 'create', params => { text => 't' } })->{record}{id};
	my ($rc2, $o2, $e2) = ctl($S, 'act', 'edit', $n, 'count=404', '--json');
	my $r2 = eval { decode_json(Encode::encode('UTF-8', $o2)) } // {};
	is(JSON::PP->new->encode([$r2->{record}{data}{count}]), '[404]', 'a param not declared as text: 404 is a number');
	($rc2, $o2, $e2) = ctl($S, 'act', 'close', $n, 'why=404', '--json');
	$r2 = eval { decode_json(Encode::encode('UTF-8', $o2)) } // {};
	my ($ev) = grep { $_->{type} eq 'closed' } @{ $r2->{events} // [] };
	is(JSON::PP->new->encode([$ev->{why}]), '["404"]', 'why, declared type = "text": "404", as typed') or diag($o2, $e2);
}

# --- clock set into the past, uptime -------------------------------------------------------
($rc, $out, $err) = ctl($S, 'clock', 'set', '2024-07-01');
is($rc, 0, 'clock set forward');
unlike("$out$err", qr/warning/, 'forward: no warning');
($rc, $out, $err) = ctl($S, 'clock', 'set', '2024-01-15');
is($rc, 0, 'clock set back');
like("$out$err", qr/warning: the clock went back from 2024-07-01T\S+ to 2024-01-15T00:00:00\+09:00/,
     'back: a warning says from when to when');
my $st = $d->ok_call('status');
cmp_ok($st->{uptime_s}, '>=', 0, "status: uptime_s is not negative ($st->{uptime_s})");
cmp_ok($st->{uptime_s}, '<', 3600, 'and is the time it has run, not the clock\'s jump');
($rc, $out, $err) = ctl($S, 'status');
unlike($out, qr/uptime\s+-/, 'liuctl status: no negative uptime');
like($d->ok_call('metrics'), qr/^liud_up_seconds \d+$/m, 'metrics: liud_up_seconds not negative');
# --- act --help: the pack's actions, from the daemon -------------------------------------
($rc, $out, $err) = ctl($S, 'act', '--help');
is($rc, 0, 'act --help');
like($out, qr/^usage:\n  liuctl act <action>/, 'the usage first');
like($out, qr/actions of the live rule pack mini \(version [0-9a-f]{12}\), from the daemon at \Q$S\E:/,
     'then the live pack\'s actions, saying where they come from');
like($out, qr/^  close <id>  .*\n      on note records in state open -> closed; roles: secretariat\n      why=\.\.\.  理由 \/ why it is closed \(text\)\n      refuse=\.\.\.\n      crash=\.\.\./m,
     'an action: its states, roles and declared params');
like($out, qr/^  create  .*\n      creates note records in state open; roles: secretariat\n      params: not declared by the pack/m,
     'an action that declares no params says so');
my @acts = $out =~ /^  (\w+)(?: <id>)?  /mg;
is("@acts", 'close create edit touch', 'every action, by name');
for my $args ([ 'close', '--help' ], [ 'close', 'N-000001', '--help' ]) {
	($rc, $out, $err) = ctl($S, 'act', @$args);
	is($rc, 0, "act @$args exits 0");
	like($out, qr/^usage:\n  liuctl act close <id> \[key=value \.\.\.\]/, '... the usage of that action');
	my @one = $out =~ /^  (\w+)(?: <id>)?  /mg;
	is("@one", 'close', '... and that action alone') or diag($out);
	like($out, qr/^      why=\.\.\.  理由 \/ why it is closed \(text\)$/m, '... with its params, labels and types');
}
($rc, $out, $err) = ctl($S, 'act', 'nope', '--help');
is($rc, 2, 'act <unknown action> --help exits 2');
like($err, qr/no action nope in the live rule pack mini; its actions: close, create, edit, touch/, '... naming the actions');
($rc, $out, $err) = ctl("$tmp/none.sock", 'act', '--help');
is($rc, 0, 'act --help with no daemon');
like($out, qr/^usage:/, 'still the usage');
like($out, qr/come from the daemon, which did not answer at \Q$tmp\E\/none\.sock/, 'and says where the actions would come from');
is($d->stop, 0, 'the daemon stops cleanly');

# --- Lua's nil never reaches a reason: the pack's tests catch it ------------------------
{
	my $p = "$tmp/nilpack";
	system('cp', '-R', 'tests/packs/mini', $p) == 0 or die;
	open my $m, '>>:encoding(UTF-8)', "$p/main.lua" or die;
	print $m <<'LUA';
action "nilly" { kind = "note", roles = { "secretariat" }, from = { "open" },
  run = function (app, p) refuse { ja = "種類: " .. tostring(p.kind), en = "kind: not `" .. tostring(p.kind) .. "`" } end }
LUA
	close $m;
	open my $t, '>>', "$p/tests/basic.lua" or die;
	print $t <<'LUA';
scenario "a reason built of a param not given" {
  at = "2024-06-01",
  { act = "create", as = "secretariat", params = { text = "hello" }, state = "open" },
  { act = "nilly", as = "secretariat", expect = "refused" },
}
LUA
	close $t;
	my $rep = `${\ bin_dir()}/liud test $p 2>&1`;
	isnt($? >> 8, 0, 'a pack whose reason shows nil fails its tests');
	like($rep, qr/a reason shows Lua's nil \(write what was missing instead\): kind: not `nil`/,
	     'saying which reason');
}
done_testing;
