#!/usr/bin/perl
# A squatter: another user binds the socket path first and answers like the
# daemon ("the audit chain holds").  liuctl reads the server's credentials
# before it sends anything and refuses a server that runs as neither root,
# the daemon user (--daemon-user, $LIUCTL_DAEMON_USER, else "liud") nor the
# user running liuctl.  The squatter runs as a test user through setpriv.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);

plan skip_all => 'needs root to create test users (CI runs as root)' if $> != 0;

sub sh { system(@_) == 0 }
sh('groupadd', '--system', 'liut-none') unless getgrnam('liut-none');
unless (getpwnam('liut-nobody')) {
	sh('useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '-g', 'liut-none',
	   'liut-nobody') or BAIL_OUT('useradd liut-nobody failed');
}
my $uid = getpwnam('liut-nobody');
my $LIUCTL = bin_dir() . '/liuctl';

my $dir = tempdir('liud-squat-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
mkdir "$dir/run" or die;
chown $uid, -1, "$dir/run";           # a folder the squatter may write
chmod 0777, "$dir/heard" if mkdir "$dir/heard";
my $sock = "$dir/run/liud.sock";

# The squatter: answers every request with a forged audit report, and notes
# what it was sent.
open my $f, '>', "$dir/squat.pl" or die;
print $f <<'PERL';
use strict; use warnings; use IO::Socket::UNIX;
my ($path, $heard) = @ARGV;
my $l = IO::Socket::UNIX->new(Local => $path, Type => SOCK_STREAM, Listen => 16) or die "bind: $!";
chmod 0666, $path;
open my $r, '>', "$path.ready"; close $r;
while (my $c = $l->accept) {
	my $line = <$c>;
	next unless defined $line;
	open my $h, '>>', $heard; print $h $line; close $h;
	my ($id) = $line =~ /"id":(\d+)/;
	print $c qq({"jsonrpc":"2.0","id":$id,"result":{"ok":true,"entries":3,"head":"forged","checked_at":"2024-06-01T00:00:00+09:00"}}\n);
	close $c;
}
PERL
close $f;
my $pid = fork // die;
if ($pid == 0) {
	exec 'setpriv', "--reuid=$uid", '--regid=liut-none', '--init-groups', 'perl', "$dir/squat.pl", $sock,
		"$dir/heard/lines" or die;
}
for (1 .. 200) { last if -e "$sock.ready"; sleep 0.02 }
ok(-S $sock, 'a user with no business binds the socket path first');

sub run {
	my ($env, @cmd) = @_;
	my $p = fork // die;
	if ($p == 0) {
		delete $ENV{LIUCTL_DAEMON_USER};
		%ENV = (%ENV, %$env);
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', "$dir/out";
		open STDERR, '>', "$dir/err";
		exec @cmd or exit 127;
	}
	waitpid($p, 0);
	my $slurp = sub { open my $h, '<', $_[0] or return ''; local $/; my $t = <$h>; $t // '' };
	return ($? >> 8, $slurp->("$dir/out"), $slurp->("$dir/err"));
}
sub heard { open my $h, '<', "$dir/heard/lines" or return 0; my @l = <$h>; return scalar @l }

my ($rc, $out, $err) = run({}, $LIUCTL, '--socket', $sock, 'audit', 'verify');
is($rc, 3, 'liuctl refuses the squatter (exit 3)');
is($out, '', 'and prints nothing of its forged answer');
like($err, qr/refusing \Q$sock\E: the server there runs as uid $uid \(liut-nobody\)/,
     'saying which socket and which uid it found') or diag($err);
like($err, qr/--daemon-user/, 'and how to trust a daemon that really runs as that user');
is(heard(), 0, 'no request reached the squatter');

# Trusting that user on purpose: the flag, then the environment.
($rc, $out) = run({}, $LIUCTL, '--socket', $sock, '--daemon-user', 'liut-nobody', 'audit', 'verify');
is($rc, 0, '--daemon-user names the user to trust (by name)');
($rc) = run({ LIUCTL_DAEMON_USER => $uid }, $LIUCTL, '--socket', $sock, 'audit', 'verify');
is($rc, 0, '$LIUCTL_DAEMON_USER does too (by uid)');
is(heard(), 2, 'only then is the request sent');
($rc, $out, $err) = run({}, $LIUCTL, '--socket', $sock, '--daemon-user', 'liut-no-such-user', 'status');
is($rc, 2, 'a daemon user that does not exist is a usage error');
like($err, qr/--daemon-user: no such user on this machine: liut-no-such-user/, 'naming it') or diag($err);

# A server of one's own (a daemon in a checkout) is trusted.
($rc) = run({}, 'setpriv', "--reuid=$uid", '--regid=liut-none', '--init-groups', $LIUCTL, '--socket', $sock,
	    'audit', 'verify');
is($rc, 0, 'a user trusts a server running as itself');

kill 'TERM', $pid;
waitpid($pid, 0);

# The real daemon, run as root here, is trusted.
my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini');
($rc, $out) = run({}, $LIUCTL, '--socket', $d->{sock}, 'audit', 'verify');
is($rc, 0, 'a daemon running as root is trusted') or diag($out);
$d->stop;
done_testing;
