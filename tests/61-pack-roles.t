#!/usr/bin/perl
# Roles come from the pack: a pack declares a role of its own ("reviewer",
# with the core methods it may call), liud.conf gives it to a user, and that
# user (a real peer, run with setpriv) can run the action and the methods the
# role names, and nothing else.  A liud.conf role the pack does not declare
# stops the start; a reload or rollback to a pack that drops a role liud.conf
# still maps is refused, naming the role.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use File::Path qw(make_path);
use JSON::PP;

plan skip_all => 'needs root to create test users (CI runs as root)' if $> != 0;

sub sh { system(@_) == 0 }
sh('groupadd', '--system', 'liut-none') unless getgrnam('liut-none');
sh('groupadd', '--system', 'liut-review') unless getgrnam('liut-review');
for my $u (qw(liut-rev liut-nobody)) {
	next if getpwnam($u);
	sh('useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '-g', 'liut-none', $u)
		or BAIL_OUT("useradd $u failed");
}
sh('usermod', '-a', '-G', 'liut-review', 'liut-rev') or BAIL_OUT('usermod failed');

my $dir = tempdir('liud-roles-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
copy('tests/tools/call.pl', "$dir/call.pl") && chmod(0755, "$dir/call.pl") or die;

# A pack for a made-up measure, with roles of its own.
sub write_pack {
	my ($folder, $roles, $review_roles) = @_;
	make_path($folder);
	open my $f, '>', "$folder/main.lua" or die;
	print $f <<"LUA";
pack { name = "waiver", title = { ja = "免除", en = "fee waiver" } }
measure "year" { temporary = true, from = "2024-01-01", till = "2024-12-31" }
kind "waiver" { id_prefix = "W-", states = { "asked", "granted" } }
$roles
action "ask" { kind = "waiver", roles = { "office" }, creates = true, to = "asked" }
action "grant" { kind = "waiver", roles = { $review_roles }, from = { "asked" }, to = "granted" }
LUA
	close $f;
}
my $both = <<'LUA';
role "office" { title = { ja = "申請窓口", en = "applicant office" }, methods = { "record.get" } }
role "reviewer" { title = { ja = "審査者", en = "reviewer" }, methods = { "record.list", "eval" } }
LUA
write_pack("$dir/v1", $both, '"reviewer"');
write_pack("$dir/v2", qq(role "office" { title = { ja = "申請窓口", en = "applicant office" } }\n), '"office"');

sub conf {
	my ($name, $roles) = @_;
	open my $cf, '>', "$dir/$name" or die;
	print $cf qq(socket_mode = "0666"\nroles = { admin = { users = { "root" } }, $roles }\n);
	close $cf;
	return "$dir/$name";
}

# --- a liud.conf role the pack does not declare stops the start -----------------------
my $bad = Liud::start_daemon(conf => conf('bad.conf', 'auditor = { users = { "liut-rev" } }'),
			     rules => "$dir/v1", clock => '2024-06-01', expect_exit => 1);
isnt($bad->{exit}, 0, 'a liud.conf role the pack does not declare: the daemon does not start');
like($bad->log_text, qr/auditor/, 'the log names the role') or diag($bad->log_text);
like($bad->log_text, qr/office.*reviewer|reviewer.*office/, 'and the roles the pack declares');

# --- a pack role given through liud.conf ----------------------------------------------
make_path("$dir/live");
my $d = Liud::start_daemon(dir => "$dir/live", conf => conf('liud.conf', 'reviewer = { groups = { "liut-review" } }'),
			   rules => "$dir/v1", clock => '2024-06-01');
ok($d->alive, 'daemon up with a role the pack declares') or diag($d->log_text);
my $st = $d->ok_call('rules.status');
is_deeply([ map { $_->{id} } @{ $st->{roles} // [] } ], [qw(office reviewer)], 'rules.status lists the pack\'s roles in order');
is($st->{roles}[1]{title}{en}, 'reviewer', 'with their titles');
my $id = $d->ok_call('act', { action => 'ask', params => {} })->{record}{id};

sub as {
	my ($user, $method, $params) = @_;
	my @cmd = ('setpriv', "--reuid=$user", '--regid=liut-none', '--init-groups', 'perl', "$dir/call.pl",
		   $d->{sock}, $method);
	push @cmd, encode_json($params) if defined $params;
	open my $p, '-|', @cmd or die "setpriv: $!";
	my $line = <$p>;
	close $p;
	return decode_json($line // '{}');
}
my $r = as('liut-rev', 'act', { action => 'grant', id => $id });
is($r->{result}{record}{state}, 'granted', 'the reviewer runs the action its pack role allows') or diag(encode_json($r));
$r = as('liut-rev', 'act', { action => 'ask', params => {} });
is($r->{error}{code}, -32001, 'but not the office\'s action');
is_deeply($r->{error}{data}{roles}, ['reviewer'], 'the refusal names the peer\'s roles');
$r = as('liut-rev', 'record.list', {});
ok($r->{result}, 'record.list: a method the role names') or diag(encode_json($r));
$r = as('liut-rev', 'eval', { id => $id });
isnt($r->{error} && $r->{error}{code}, -32001, 'eval: a method the role names');
$r = as('liut-rev', 'record.get', { id => $id });
is($r->{error}{code}, -32001, 'record.get: not named by the reviewer role, forbidden');
$r = as('liut-rev', 'backup', { path => "$dir/b" });
is($r->{error}{code}, -32001, 'backup stays the core admin\'s');
$r = as('liut-nobody', 'record.list', {});
is($r->{error}{code}, -32001, 'a peer with no role: forbidden');

# --- a reload that drops a role liud.conf still maps ---------------------------------
my $v1 = $st->{version};
my $e = $d->call('rules.reload', { path => "$dir/v2" });
ok($e->{error}, 'a reload that drops the mapped role "reviewer" is refused') or diag(encode_json($e));
like($e->{error}{message} // '', qr/reviewer/, 'the refusal names the role');
like(encode_json($e->{error}{data} // {}), qr/liud\.conf/, 'and where it is mapped');
is($d->ok_call('rules.status')->{version}, $v1, 'the pack stays live');
like($d->log_text, qr/refused.*reviewer/, 'the log says so');
$r = as('liut-rev', 'record.list', {});
ok($r->{result}, 'the reviewer keeps its role');
$d->stop;
done_testing;
