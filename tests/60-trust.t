#!/usr/bin/perl
# Trust: roles from real peer credentials (users and groups made by the test,
# clients run as them with setpriv), every method x every role; no contents
# for those who may not read them, in replies or logs; forbidden writes and
# fail-closed writes; hot backup; a tampered audit log is caught.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use JSON::PP;

plan skip_all => 'needs root to create test users (CI runs as root)' if $> != 0;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

# --- users and groups ---------------------------------------------------------
sub sh { system(@_) == 0 }
for my $g (qw(liut-policy liut-secretariat liut-agency liut-none)) {
	sh('groupadd', '--system', $g) unless getgrnam($g);
}
my %users = (
	'liut-pol'   => [ 'liut-none', 'liut-policy' ],      # the role through a supplementary group
	'liut-sec'   => [ 'liut-secretariat' ],               # through the primary group
	'liut-agy'   => [ 'liut-none' ],                      # through its numeric uid
	'liut-nobody' => [ 'liut-none' ],
);
for my $u (sort keys %users) {
	my ($primary, @extra) = @{ $users{$u} };
	next if getpwnam($u);
	sh('useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '-g', $primary,
	   (@extra ? ('-G', join(',', @extra)) : ()), $u) or BAIL_OUT("useradd $u failed");
}
my $agy_uid = getpwnam('liut-agy');

my $dir = tempdir('liud-trust-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
copy('tests/tools/call.pl', "$dir/call.pl") or die;
chmod 0755, "$dir/call.pl";
open my $cf, '>', "$dir/liud.conf" or die;
print $cf <<"CONF";
socket_mode = "0666"
roles = {
  admin = { users = { "root" } },
  policy = { groups = { "liut-policy" } },
  secretariat = { groups = { "liut-secretariat" } },
  agency = { users = { "$agy_uid" } },
}
CONF
close $cf;

my $d = Liud::start_daemon(dir => $dir, conf => "$dir/liud.conf", clock => '2024-06-01',
			   rules => 'tests/packs/mini');
ok($d->alive, 'daemon up with the role configuration');
my $secret = 'ひみつの本文-' . int(rand(1e9));
my $n1 = $d->ok_call('act', { action => 'create', params => { text => $secret } })->{record}{id};

sub as {
	my ($user, $method, $params) = @_;
	my @cmd = ('setpriv', "--reuid=$user", "--regid=" . $users{$user}[0], '--init-groups',
		   'perl', "$dir/call.pl", $d->{sock}, $method);
	push @cmd, encode_json($params) if defined $params;
	open my $p, '-|', @cmd or die "setpriv: $!";
	my $line = <$p>;
	close $p;
	return decode_json($line // '{}');
}

# --- every method x every role ----------------------------------------------------
my %p = (
	'record.get' => { id => $n1 }, 'record.list' => {}, 'eval' => { id => $n1 },
	'history' => { id => $n1 }, 'deadlines' => {}, 'view' => { name => 'open-notes' },
	'act' => { action => 'create', params => { text => 'by peer' } },
	'rules.check' => { path => "$dir/nope" }, 'rules.reload' => { path => "$dir/nope" },
	'audit.verify' => {}, 'backup' => { path => "$dir/nope/x" }, 'metrics' => {},
	'enforce' => {}, 'clock.set' => { now => '2024-06-01' },
);
# Who may: docs/PROTOCOL.md (act and view: the mini pack gives create to the
# secretariat and open-notes to agencies; admin may always).
my %allow = (
	'status' => [qw(pol sec agy nobody)], 'rules.status' => [qw(pol sec agy)],
	'record.get' => [qw(pol sec)], 'record.list' => [qw(pol sec)], 'eval' => [qw(pol sec)],
	'history' => [qw(pol sec)], 'deadlines' => [qw(pol sec)],
	'act' => [qw(sec)], 'view' => [qw(agy)],
	'rules.check' => [qw(pol)], 'rules.reload' => [qw(pol)],
	'audit.verify' => [], 'backup' => [], 'enforce' => [], 'clock.set' => [],
);
for my $m (sort keys %allow) {
	my %ok = map { $_ => 1 } @{ $allow{$m} };
	for my $who (qw(pol sec agy nobody)) {
		my $r = as("liut-$who", $m, $p{$m});
		my $code = $r->{error} ? $r->{error}{code} : 0;
		if ($ok{$who}) {
			isnt($code, -32001, "$m is allowed for $who") or diag(encode_json($r));
		} else {
			is($code, -32001, "$m is forbidden for $who");
		}
	}
}
like($d->log_text, qr/forbidden peer_uid=$agy_uid peer_user=liut-agy/, 'a refusal is logged naming the peer');

# --- a peer with no role is told so, and which roles may --------------------------------
my $nr = as('liut-nobody', 'record.list', {});
like($nr->{error}{data}{reason}{en} // '', qr/you hold no role.*roles that may: admin, policy, secretariat.*liud\.conf's roles map users and groups to roles/,
     'no role: said so, the roles that may, and that liud.conf maps groups to roles') or diag(encode_json($nr));
like($nr->{error}{data}{reason}{ja} // '', qr/ロールが割り当てられていない/, '... in Japanese too');
$nr = as('liut-pol', 'act', { action => 'create', params => { text => 'x' } });
like($nr->{error}{data}{reason}{en} // '', qr/^your roles do not allow this; roles that may: admin, secretariat$/,
     'an action: the roles the pack gives it') or diag(encode_json($nr));
$nr = as('liut-agy', 'record.list', {});
like($nr->{error}{data}{reason}{en} // '', qr/^your roles do not allow this; roles that may: admin, policy, secretariat/,
     'a role that may not: which roles may');

# --- confidentiality ---------------------------------------------------------------
my $r = as('liut-agy', 'record.get', { id => $n1 });
unlike(encode_json($r), qr/\Q$secret\E|ひみつ/, 'a forbidden read reveals nothing of the record');
$r = as('liut-nobody', 'status');
ok(!exists $r->{result}{rules} && !exists $r->{result}{records}, 'a peer with no role sees no rules folder or counts');
$r = as('liut-agy', 'view', { name => 'open-notes' });
ok((grep { $_->{text} eq $secret } @{ $r->{result}{rows} }), 'an agency reads the view it is allowed');
unlike($d->log_text, qr/\Q$secret\E/, 'record contents never reach the log');

# --- a forbidden write leaves nothing durable; a write whose commit fails is not acknowledged ---
my $h = $d->ok_call('history', { id => $n1 })->{entries};
$r = as('liut-pol', 'act', { action => 'close', id => $n1 });
is($r->{error}{code}, -32001, 'policy may not close a note');
is(scalar @{ $d->ok_call('history', { id => $n1 })->{entries} }, scalar @$h,
   'the forbidden write attempt adds nothing to the record\'s history (tests/62-log.t: 2,000 of them)');
like($d->log_text, qr/forbidden peer_uid=\d+ peer_user=liut-pol peer_pid=\d+ what="action close"/,
     'it is logged, naming the peer');
ok($d->ok_call('audit.verify')->{ok}, 'the chain verifies');

# --- hot backup while writing, and a daemon on the copy -------------------------------
my $pid = fork // die;
if ($pid == 0) { $d->call('act', { action => 'create', params => { text => "w$_" } }) for 1 .. 300; POSIX::_exit(0) }
my $b = $d->ok_call('backup', { path => "$dir/backup1" });
ok($b->{bytes} > 0, "backup written while writes go on ($b->{bytes} bytes, $b->{ms} ms)");
waitpid($pid, 0);
my $e = $d->call('backup', { path => "$dir/backup1" });
is($e->{error}{code}, -32602, 'a backup never overwrites a database');
$e = $d->call('backup', { path => 'relative/path' });
is($e->{error}{code}, -32602, 'a backup path must be absolute');
$d->stop;

sub start_on {
	my ($db) = @_;
	return Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini', args => [ '--db', $db ]);
}
my $c = start_on("$dir/backup1");
my $cv = $c->ok_call('audit.verify');
ok($cv->{ok}, 'a daemon starts on the backup and its audit chain verifies');
is($c->ok_call('record.get', { id => $n1 })->{data}{text}, $secret, 'the backup holds the records');
my $notes = 0;
$notes += $_ for values %{ $c->ok_call('status')->{records}{note} };
ok($notes >= 1 && $notes <= 301, "a consistent snapshot ($notes notes)");
$c->stop;

# --- tampering is caught ---------------------------------------------------------------
my $tamper = ($ENV{LIUD_TOOLS} // 'build/rel/tests') . '/tamper';
for my $case ([ 'change', [2], 2, 'changed' ], [ 'delete', [3], 3, 'missing' ],
	      [ 'swap', [2, 4], 2, 'moved' ], [ 'truncate', [], undef, 'cut off' ]) {
	my ($op, $args, $bad, $what) = @$case;
	my $copy = "$dir/t-$op";
	sh('cp', '-r', "$dir/backup1", $copy) or die;
	sh($tamper, $copy, $op, @$args) or die "tamper $op failed";
	my $t = start_on($copy);
	my $v = $t->ok_call('audit.verify');
	ok(!$v->{ok}, "audit.verify catches an entry $op ($what)");
	is($v->{first_bad_seq}, $bad, "naming the first bad sequence number") if defined $bad;
	like($v->{reason}, qr/\Q$what\E/, "and why: $v->{reason}");
	$t->stop;
}

# Damaged records: bytes with a raw newline are never sent as they are (they
# would break the reply line): record.get decodes them, answers the record
# on one line if they still parse, an error if not; the connection goes on.
for my $case ([ qq({"id":"$n1",\n"kind":"note"}), 'result', 'still JSON: answered on one line' ],
	      [ qq({"id":"$n1",\n"kind":), 'error', 'not JSON: an error reply, not its bytes' ]) {
	my ($bytes, $want, $what) = @$case;
	my $copy = "$dir/t-record-$want";
	sh('cp', '-r', "$dir/backup1", $copy) or die;
	sh($tamper, $copy, 'record', $n1, $bytes) or die 'tamper record failed';
	my $t = start_on($copy);
	my $s = $t->connect;
	print $s json->encode({ jsonrpc => '2.0', id => 1, method => 'record.get', params => { id => $n1 } }), "\n";
	print $s json->encode({ jsonrpc => '2.0', id => 2, method => 'status' }), "\n";
	my @r = map { scalar <$s> } 1 .. 2;
	close $s;
	my $e = eval { json->decode($r[0]) };
	ok($e && $e->{$want}, "a damaged record, $what") or diag($r[0] // 'no reply');
	is(eval { json->decode($r[1])->{id} }, 2, '... and the next reply on the connection is intact');
	$t->stop;
}

# An action or eval on a damaged record (its text is read straight into Lua,
# core/rules_text.c): an error saying the record is damaged, not a rule
# script error; a log line naming it; the daemon goes on.
for my $case ([ qq({"id":"$n1","kind":"note","rev":1,"state":"open","data":{"text":), 'cut off' ],
	      [ qq({"id":"$n1","kind":"note","rev":1,"state":"open","data":{"text":"x","n":1e999}}), 'a number out of range' ],
	      [ qq([{"id":"$n1"}]), 'not an object' ],
	      [ qq({"kind":"note","rev":1,"state":"open","data":{"text":"x"}}), 'no id', 'act only' ]) {
	my ($bytes, $what, $act_only) = @$case;
	my $copy = "$dir/t-damaged";
	sh('rm', '-rf', $copy);
	sh('cp', '-r', "$dir/backup1", $copy) or die;
	sh($tamper, $copy, 'record', $n1, $bytes) or die 'tamper record failed';
	my $t = start_on($copy);
	my $a = $t->call('act', { action => 'edit', id => $n1, params => { text => 'new' } });
	ok($a->{error}, "act on a damaged record ($what): an error");
	like($a->{error}{message} // '', qr/stored record is damaged/, '... saying the record is damaged')
		or diag(json->encode($a));
	is($a->{error}{data}{reason}{ja}, '保存されている記録が壊れています', '... in Japanese too');
	like($t->log_text, qr/a stored record (?:does not parse|has no id or kind) id=\Q$n1\E/,
	     '... and a log line naming it');
	unless ($act_only) { # a record without an id can still be evaluated
		my $e = $t->call('eval', { id => $n1 });
		like($e->{error}{message} // '', qr/stored record is damaged/, "eval of it ($what): the same error");
	}
	ok($t->ok_call('status'), 'the daemon goes on');
	$t->stop;
}

# A damaged compressed record (zstd's magic number, then garbage): an error
# naming the record, a log line; the daemon goes on.
{
	my $copy = "$dir/t-record-frame";
	sh('cp', '-r', "$dir/backup1", $copy) or die;
	sh($tamper, $copy, 'record', $n1, "\x28\xb5\x2f\xfd" . ('garbage' x 20)) or die 'tamper record failed';
	my $t = start_on($copy);
	my $g = $t->call('record.get', { id => $n1 });
	ok($g->{error}, 'a compressed record that does not decompress gets an error reply');
	unlike(json->encode($g), qr/garbage/, '... without its bytes');
	like($t->log_text, qr/store: a stored record does not decompress id=\Q$n1\E/, '... and a log line naming it');
	ok($t->ok_call('status'), 'the daemon goes on');
	$t->stop;
}

# --- fail closed ---------------------------------------------------------------------------
{
	local $ENV{LIUD_TEST_FAIL_COMMITS} = 1;
	my $f = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini');
	my $x = $f->call('act', { action => 'create', params => { text => 'doomed' } });
	ok($x->{error}, 'a write whose transaction fails is not acknowledged');
	like($x->{error}{message}, qr/nothing was changed/, 'and says nothing was changed');
	is($f->call('record.get', { id => 'N-000001' })->{error}{code}, -32002, 'nothing of it is stored');
	ok($f->ok_call('status'), 'reads go on');
	my $y = $f->ok_call('act', { action => 'create', params => { text => 'fine' } });
	ok($y->{record}{id}, 'the next write succeeds');
	ok($f->ok_call('audit.verify')->{ok}, 'and the chain is whole');
	$f->stop;
}
done_testing;
