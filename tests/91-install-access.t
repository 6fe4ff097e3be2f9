#!/usr/bin/perl
# The install steps of docs/OPERATIONS.md, followed into a DESTDIR with real
# users of this machine: make install, systemd-sysusers, systemd-tmpfiles.
# Whoever holds a role connects with the installed liuctl (the installed
# socket_mode lets everyone connect, roles decide what they may do); a
# socket closed to a user says what to do; policy staff edit the live pack
# under etc/liud/rules and `rules reload` reads it; /var/backups/liud exists;
# a backup into a missing folder names it; a candidate the daemon cannot see
# (as under the unit's sandbox) says why and where to put it.
#
# Needs root (useradd, setpriv); skips otherwise.  The users and groups it
# adds carry a prefix of their own (liui<pid>-) and are removed at the end.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

sub have { system('sh', '-c', "command -v $_[0] >/dev/null 2>&1") == 0 }
plan skip_all => 'needs root (it adds users)' unless $> == 0;
for (qw(useradd groupadd userdel groupdel setpriv systemd-sysusers systemd-tmpfiles)) {
	plan skip_all => "$_ is not installed" unless have($_);
}

my $tag = 'liui' . ($$ % 100000);
my (@users, @groups);
END {
	system('userdel', $_) for @users;
	system('groupdel', $_) for @groups;
}
sub group { my $g = "$tag-$_[0]"; system('groupadd', $g) == 0 or die "groupadd $g"; push @groups, $g; $g }
sub user {
	my ($name, @grp) = @_;
	my $u = "$tag-$name";
	system('useradd', '-M', '-N', '-s', '/bin/sh', '-d', '/nonexistent',
	       (@grp ? ('-G', join(',', @grp)) : ()), $u) == 0 or die "useradd $u";
	push @users, $u;
	return $u;
}
my $sec = group('sec');
my $pol = group('pol');
my $alice = user('alice', $sec);
my $bob = user('bob');
my $carol = user('carol', $pol);

# The documented steps, into DESTDIR (0755 all the way: other users reach
# the socket under it, as /run/liud is 0755).
my $dest = tempdir('liud-access-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dest;
my $out = `make --no-print-directory install DESTDIR=$dest PREFIX=/usr 2>&1`;
is($? >> 8, 0, 'make install PREFIX=/usr') or diag($out);
$out = `systemd-sysusers --root=$dest 2>&1`;
is($? >> 8, 0, 'systemd-sysusers') or diag($out);
$out = `systemd-tmpfiles --root=$dest --create liud.conf 2>&1`;
is($? >> 8, 0, 'systemd-tmpfiles --create liud.conf') or diag($out);

my %gid = map { (split /:/)[0, 2] } do { open my $f, '<', "$dest/etc/group" or die; <$f> };
my %uid = map { (split /:/)[0, 2] } do { open my $f, '<', "$dest/etc/passwd" or die; <$f> };
my @bk = stat "$dest/var/backups/liud";
ok(@bk && ($bk[2] & 07777) == 0750 && $bk[4] == $uid{liud}, 'tmpfiles.d makes /var/backups/liud, 0750, the daemon\'s');
my $live = "$dest/etc/liud/rules/ismap-liu";
my @lv = stat "$live/00-pack.lua";
my @ld = stat $live;
ok(@lv && $lv[5] == $gid{'liu-policy'} && ($lv[2] & 0020), 'the live pack is liu-policy\'s and group-writable');
ok(@ld && ($ld[2] & 02020) == 02020, 'its folders are group-writable and setgid');
# What one of the policy staff makes there with the usual umask (022: a
# candidate copied beside the live pack) is the group's to edit again after
# the next systemd-tmpfiles, as at every boot: folders 2775, files 0664.
{
	my $cand = "$dest/etc/liud/rules/candidate";
	mkdir $cand, 0755;
	chmod 0755, $cand;
	open my $f, '>', "$cand/00-pack.lua" or die;
	close $f;
	chmod 0644, "$cand/00-pack.lua";
	$out = `systemd-tmpfiles --root=$dest --create liud.conf 2>&1`;
	is($? >> 8, 0, 'systemd-tmpfiles again') or diag($out);
	my @cd = stat $cand;
	my @cf = stat "$cand/00-pack.lua";
	is(sprintf('%04o', $cd[2] & 07777), '2775', 'a folder made with umask 022 is 2775 again');
	is(sprintf('%04o', $cf[2] & 07777), '0664', 'a file made with umask 022 is 0664 again');
	is($cf[5], $gid{'liu-policy'}, '... and liu-policy\'s');
	system('rm', '-rf', $cand);
}

# The installed configuration, pointed at this DESTDIR and at this test's
# groups (the pack's roles are unchanged).
my $conf = do { local (@ARGV, $/) = "$dest/etc/liud/liud.conf"; <> };
like($conf, qr/^socket_mode = "0666"/m, 'the installed configuration lets everyone connect');
$conf =~ s/"liu-secretariat"/"$sec"/; $conf =~ s/"liu-policy"/"$pol"/;
$conf =~ s/^(db\s*=\s*)"[^"]*"/$1"$dest\/var\/lib\/liud\/db"/m;
$conf =~ s/^(rules\s*=\s*)"[^"]*"/$1"$live"/m;
open my $cf, '>', "$dest/test.conf" or die;
print $cf $conf;
close $cf;

my $srv = "$dest/srv";
mkdir $srv; mkdir "$srv/run";
chmod 0755, $srv, "$srv/run";
my $ctl = "$dest/usr/bin/liuctl";
# liuctl as `user`: its groups from this machine, as after a new login.
sub as {
	my ($user, $sock, @args) = @_;
	my $cmd = join ' ', map { "'$_'" } 'setpriv', "--reuid=$user", '--regid=' . (getpwnam $user)[3], '--init-groups',
		  $ctl, '--socket', $sock, @args;
	my $o = `$cmd 2>&1`;
	return ($? >> 8, $o);
}

{
	local $ENV{LIUD_BIN} = "$dest/usr/sbin";
	my $d = Liud::start_daemon(clock => '2024-06-01', conf => "$dest/test.conf", rules => $live,
				   dir => $srv);
	my ($rc, $o) = as($alice, $d->{sock}, 'record', 'list');
	is($rc, 0, 'a secretariat member connects with the installed liuctl and lists records') or diag($o);
	($rc, $o) = as($bob, $d->{sock}, 'record', 'list');
	is($rc, 1, 'someone with no role connects, and is refused the call') or diag($o);
	like($o, qr/-32001/, 'as forbidden');

	# Policy staff edit the live pack in place, and a reload reads it.
	my $was = $d->ok_call('rules.status')->{version};
	my $sh = "printf '\\n-- edited by policy staff\\n' >> '$live/00-pack.lua'";
	system('setpriv', "--reuid=$carol", '--regid=' . (getpwnam $carol)[3], "--groups=$gid{'liu-policy'}",
	       'sh', '-c', $sh);
	is($? >> 8, 0, 'policy staff (the liu-policy group) can edit the live pack');
	($rc, $o) = as($carol, $d->{sock}, 'rules', 'reload');
	is($rc, 0, 'and `rules reload` by a policy member reads the folder') or diag($o);
	isnt($d->ok_call('rules.status')->{version}, $was, 'the edited pack is live');

	# A backup into a folder whose parent is missing names the parent.
	$o = `$ctl --socket $d->{sock} backup $dest/nowhere/b1 2>&1`;
	isnt($? >> 8, 0, 'a backup under a missing folder is refused');
	like($o, qr{parent folder \Q$dest\E/nowhere does not exist}, 'naming the missing folder');
	like($o, qr{親フォルダ \Q$dest\E/nowhere}, 'in Japanese too');
	$d->stop;
}

# The socket closed to a user (socket_mode 0660, root's): the refusal says
# what to do.
{
	(my $c2 = $conf) =~ s/^socket_mode = "0666"/socket_mode = "0660"/m;
	open my $f, '>', "$dest/closed.conf" or die;
	print $f $c2;
	close $f;
	local $ENV{LIUD_BIN} = "$dest/usr/sbin";
	my $d = Liud::start_daemon(clock => '2024-06-01', conf => "$dest/closed.conf", rules => $live,
				   dir => $srv);
	my ($rc, $o) = as($alice, $d->{sock}, 'status');
	is($rc, 3, 'a socket 0660 of root keeps a role holder out (exit 3)');
	like($o, qr/Permission denied: .*socket_mode = "0666"/, 'and the message says what the operator can change');
	unlike($o, qr/is liud running/, 'rather than asking whether liud runs');
	$d->stop;
}

# A candidate the daemon cannot see: it runs with a folder of the client's
# hidden (a private mount, as ProtectHome= and PrivateTmp= do).
SKIP: {
	skip 'unshare -m is not permitted here', 3
		unless system('unshare -m true 2>/dev/null') == 0 && have('unshare');
	my $hid = "$dest/home";
	mkdir $hid;
	system('cp', '-R', 'rules/ismap-liu', "$hid/candidate") == 0 or die;
	local $ENV{LIUD_BIN} = "$dest/usr/sbin";
	my $d = Liud::start_daemon(clock => '2024-06-01', conf => "$dest/test.conf", rules => $live,
				   dir => $srv, wrap => [ 'unshare', '-m', 'sh', '-c',
							  "mount -t tmpfs none '$hid' && exec \"\$@\"", 'sh' ]);
	my $o = `$ctl --socket $d->{sock} rules check $hid/candidate 2>&1`;
	isnt($? >> 8, 0, 'rules check of a folder the daemon cannot see fails');
	like($o, qr/exists here, but not for the daemon.*ProtectHome/s, 'and says why');
	like($o, qr{Copy the candidate beside the live pack, into /etc/liud/rules}, 'and where to put it');
	$d->stop;
}
done_testing;
