#!/usr/bin/perl
# Connections: one user cannot take them all.  A user with no role opens
# more than its share; another user fills what is left for non-admin peers;
# root (admin) is still served from the reserve.  Connections that trickle a
# request that never ends are closed at the request timeout, while a silent
# connection lives until the idle timeout.  A peer with no role sees nothing
# but a minimal status.  Clients run as other users with setpriv.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use IPC::Open2;
use JSON::PP;
use Time::HiRes qw(time sleep);

plan skip_all => 'needs root to create test users (CI runs as root)' if $> != 0;
$SIG{PIPE} = 'IGNORE'; # a connection the daemon closed fails a test, not the script

sub sh { system(@_) == 0 }
sh('groupadd', '--system', 'liut-none') unless getgrnam('liut-none');
for my $u (qw(liut-nobody liut-agy)) {
	next if getpwnam($u);
	sh('useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '-g', 'liut-none', $u)
		or BAIL_OUT("useradd $u failed");
}
my $agy_uid = getpwnam('liut-agy');

my $dir = tempdir('liud-conn-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
copy("tests/tools/$_", "$dir/$_") && chmod(0755, "$dir/$_") or die for qw(hold.pl call.pl);
open my $cf, '>', "$dir/liud.conf" or die;
print $cf <<"CONF";
socket_mode = "0666"
roles = { admin = { users = { "root" } }, agency = { users = { "$agy_uid" } } }
limits = { connections = 24, admin_reserve = 8, connections_per_uid = 10,
           request_timeout_s = 1, idle_timeout_s = 4 }
CONF
close $cf;
my $d = Liud::start_daemon(dir => $dir, conf => "$dir/liud.conf", clock => '2024-06-01',
			   rules => 'tests/packs/mini');
ok($d->alive, 'daemon up with 24 connections, 8 of them for admin, 10 a user');

sub setpriv { my $u = shift; return ('setpriv', "--reuid=$u", '--regid=liut-none', '--init-groups', @_) }
# A holder: hold.pl as `user` with n connections; returns [pid, in, out, first report].
sub hold {
	my ($user, $n) = @_;
	my $pid = open2(my $out, my $in, setpriv($user, 'perl', "$dir/hold.pl", $d->{sock}, $n));
	my $first = decode_json(scalar <$out> // '{}');
	return { pid => $pid, in => $in, out => $out, first => $first };
}
sub ask { my ($h, $cmd) = @_; print { $h->{in} } "$cmd\n"; $h->{in}->flush; return decode_json(scalar readline($h->{out}) // '{}') }
sub as_call {
	my ($user, $method) = @_;
	open my $p, '-|', setpriv($user, 'perl', "$dir/call.pl", $d->{sock}, $method) or die;
	my $line = <$p>;
	close $p;
	return decode_json($line // '{}');
}

# A root connection that says nothing: it must outlive the request timeout
# and be closed by the idle timeout (checked at the end).
my $silent = $d->connect;
my $t_silent = time;

# --- per uid -------------------------------------------------------------------------
my $nobody = hold('liut-nobody', 15);
is($nobody->{first}{open}, 10, 'a user with no role gets 10 connections (connections_per_uid)');
is($nobody->{first}{refused}, 5, 'the other 5 are refused at once');
like(join(' ', @{ $nobody->{first}{messages} }), qr/connections_per_uid/,
     'with an error naming the limit') or diag(encode_json($nobody->{first}));
my $st = $d->call('status');
ok($st->{result}, 'root is served meanwhile');

# --- the admin reserve -----------------------------------------------------------------
my $agy = hold('liut-agy', 10);
is($agy->{first}{open}, 5, 'another user gets only what is left for non-admin peers (24 - 8 - 10 - 1 of root)');
like(join(' ', @{ $agy->{first}{messages} }), qr/admin_reserve/, 'the rest is refused naming the reserve')
	or diag(encode_json($agy->{first}));
my $r = as_call('liut-agy', 'status');
is($r->{error}{code}, -32007, 'a new non-admin connection is refused while the reserve is all that is left');
$r = $d->call('status');
ok($r->{result}, 'root is served from the reserve') or diag(encode_json($r));
is($r->{result}{connections}, 1 + 10 + 5 + 1, 'status counts the connections held');
sleep 0.3; # the daemon has seen the last call's connection close (slower under SAN)
my @mine = map { $d->connect } 1 .. 7;
$r = eval { $d->call('status') } // {};
ok($r->{result}, 'admin may use every slot of the reserve');
sleep 0.3; # the daemon has seen that call's connection close
push @mine, $d->connect;
my $over = $d->connect;
my $line = readline($over);
like($line // '', qr/-32007.*limits\.connections/, 'past the total even admin is refused, naming the limit');
close $over;
close $_ for @mine;

# --- request timeout, not idle timeout -----------------------------------------------------
sleep 1.3;
is(ask($nobody, 'count')->{open}, 10, 'connections that sent nothing outlive the request timeout (1 s)');
my $tr = ask($nobody, 'trickle 5');
is($tr->{closed}, 10, 'connections trickling a request that never ends are closed');
ok($tr->{first_s} >= 0.9 && $tr->{last_s} < 3,
   sprintf('at the request timeout (closed after %.1f-%.1f s)', $tr->{first_s} // -1, $tr->{last_s} // -1));
like(join(' ', @{ $tr->{messages} }), qr/request_timeout_s/, 'each told which limit closed it')
	or diag(encode_json($tr));
# A request sent slowly but within the timeout is served.
{
	my $s = $d->connect;
	my $req = '{"jsonrpc":"2.0","id":7,"method":"status"}';
	for my $c (unpack '(a16)*', $req) { print $s $c; $s->flush; sleep 0.1 }
	print $s "\n";
	my $l = <$s>;
	like($l // '', qr/"id":7,"result"/, 'a request sent piece by piece within the timeout is answered');
	close $s;
}

# --- a peer with no role -------------------------------------------------------------------
$r = as_call('liut-nobody', 'status');
ok($r->{result} && $r->{result}{version}, 'a peer with no role gets status') or diag(encode_json($r));
is_deeply([ sort keys %{ $r->{result} // {} } ], [qw(clock started_at uptime_s version)],
	  'only version, start, uptime and clock (no rules folder, counts or names)');
for my $m (qw(rules.status metrics deadlines)) {
	is(as_call('liut-nobody', $m)->{error}{code}, -32001, "$m is forbidden to a peer with no role");
}
$r = as_call('liut-agy', 'status');
ok($r->{result}{records} && $r->{result}{rules}, 'a peer with a role gets the full status');
ok(as_call('liut-agy', 'rules.status')->{result}, 'and rules.status');

# --- idle timeout ----------------------------------------------------------------------------
ask($agy, 'count');
close $_->{in} for $nobody, $agy;
waitpid($_->{pid}, 0) for $nobody, $agy;
my $wait = 4.5 - (time - $t_silent);
sleep $wait if $wait > 0;
$silent->blocking(0);
my $n = sysread($silent, my $buf, 100);
my $waited = time;
while (!defined $n && time - $waited < 2) { sleep 0.05; $n = sysread($silent, $buf, 100) }
is($n, 0, sprintf('a silent connection is closed by the idle timeout (4 s; open %.1f s)', time - $t_silent));
like($d->log_text, qr/connection refused.*peer_uid=\d+/, 'refusals are logged naming the peer');
like($d->log_text, qr/request timeout/, 'request timeouts are logged');
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
