# Liud.pm — start a real liud on a temporary socket and database, talk to it
# over the wire, stop it.  Used by the integration tests (tests/*.t), in the
# spirit of Redis's start_server: every test gets its own daemon.
package Liud;
use strict;
use warnings;
use utf8;
use IO::Socket::UNIX;
use Text::ParseWords qw(parse_line);
use JSON::PP;
use Encode qw(decode_utf8);
use File::Temp qw(tempdir);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use Exporter 'import';
our @EXPORT = qw(start_daemon bin_dir json);

my $JSON = JSON::PP->new->utf8->canonical;
sub json { $JSON }

sub bin_dir { $ENV{LIUD_BIN} // 'bin' }

# liuctl fits its tables to $COLUMNS when it is set: the tests read them
# whole unless they set it themselves.
delete $ENV{COLUMNS};

# start_daemon(%opt): opt{clock}, opt{rules}, opt{conf}, opt{dir} (reuse a
# folder, for restarts), opt{args} (extra arguments).
sub start_daemon {
	my (%o) = @_;
	my $dir = $o{dir} // tempdir('liud-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $self = bless { dir => $dir, sock => "$dir/run/liud.sock", db => "$dir/db",
			   log => "$dir/liud.log", id => 0, opt => \%o }, __PACKAGE__;
	$self->start;
	return $self;
}

sub start {
	my ($self) = @_;
	my %o = %{ $self->{opt} };
	my @cmd = (bin_dir() . '/liud', '--socket', $self->{sock}, '--db', $self->{db},
		   '--rules', $o{rules} // 'rules/ismap-liu', '--log-level', $o{log_level} // 'info');
	push @cmd, '-c', $o{conf} if $o{conf};
	push @cmd, '--test-clock', $o{clock} if $o{clock};
	push @cmd, @{ $o{args} } if $o{args};
	# Run under a wrapper (valgrind, a lower fd limit): `sh -c '... exec "$@"'`.
	unshift @cmd, @{ $o{wrap} } if $o{wrap};
	if ($ENV{LIUD_VALGRIND} && !$o{wrap}) {
		# the daemon's malloc is jemalloc's (Makefile): memcheck must
		# replace that one
		unshift @cmd, 'valgrind', '--quiet', '--error-exitcode=99', '--leak-check=full', '--fair-sched=yes',
			'--soname-synonyms=somalloc=*jemalloc*',
			'--errors-for-leak-kinds=definite', "--log-file=$self->{dir}/valgrind.%p.log";
	}
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDOUT, '>>', $self->{log} or die;
		open STDERR, '>>', $self->{log} or die;
		exec @cmd or die "exec $cmd[0]: $!";
	}
	$self->{pid} = $pid;
	if ($o{expect_exit}) { # a daemon that must refuse to start
		# one that is still running after 20 s did not refuse: it is
		# killed, and says so (timed_out)
		local $SIG{ALRM} = sub { $self->{timed_out} = 1; kill 'KILL', $pid };
		alarm 20;
		waitpid($pid, 0);
		alarm 0;
		$self->{exit} = $? >> 8;
		$self->{signal} = $? & 127; # 0 unless it died of a signal
		$self->{pid} = undef;
		return $self;
	}
	# Ready when the socket answers.  A first start runs the pack's own
	# tests before it listens (seconds of CPU): on a busy machine that can
	# take a minute, and the daemon is watched (it may exit) meanwhile.
	my $deadline = time + ($ENV{LIUD_VALGRIND} ? 180 : 90);
	while (time < $deadline) {
		if (waitpid($pid, WNOHANG) == $pid) {
			$self->{exit} = $? >> 8;
			$self->{pid} = undef;
			return $self;
		}
		my $s = IO::Socket::UNIX->new(Peer => $self->{sock}, Type => SOCK_STREAM);
		if ($s) { close $s; return $self }
		sleep 0.02;
	}
	die "liud did not start: " . $self->log_text;
}

sub alive { my $s = shift; return $s->{pid} && kill(0, $s->{pid}) }

# The daemon's resident memory in KiB (from /proc).
sub rss_kib {
	my $s = shift;
	open my $f, '<', "/proc/$s->{pid}/status" or return 0;
	while (<$f>) { return $1 if /^VmRSS:\s+(\d+)/ }
	return 0;
}
sub log_text { my $s = shift; open my $f, '<', $s->{log} or return ''; local $/; my $t = <$f>; return $t // '' }

sub connect {
	my ($self) = @_;
	my $s = IO::Socket::UNIX->new(Peer => $self->{sock}, Type => SOCK_STREAM)
		or die "connect $self->{sock}: $!";
	binmode $s;
	return $s;
}

# One request on its own connection; returns the decoded reply.
sub call {
	my ($self, $method, $params) = @_;
	my $s = $self->connect;
	my $req = { jsonrpc => '2.0', id => ++$self->{id}, method => $method };
	$req->{params} = $params if defined $params;
	print $s $JSON->encode($req), "\n";
	my $line = <$s>;
	close $s;
	die "no reply to $method" unless defined $line;
	return $JSON->decode($line);
}

# The result of a call, or die with the error.
sub ok_call {
	my ($self, $method, $params) = @_;
	my $r = $self->call($method, $params);
	die "$method failed: " . $JSON->encode($r->{error}) if $r->{error};
	return $r->{result};
}

# Many requests pipelined on one connection; returns the decoded replies in
# order.  (The daemon answers in request order per connection.)
sub pipeline {
	my ($self, $method, @params) = @_;
	my $s = $self->connect;
	my $buf = '';
	for my $p (@params) {
		$buf .= $JSON->encode({ jsonrpc => '2.0', id => ++$self->{id}, method => $method, params => $p }) . "\n";
	}
	print $s $buf;
	shutdown($s, 1);
	my @r;
	while (my $l = <$s>) { push @r, $JSON->decode($l) }
	close $s;
	return @r;
}

# liuctl run on this daemon: (exit status, standard output, standard error),
# both decoded from UTF-8.  Standard input is /dev/null.
sub liuctl {
	my ($self, @args) = @_;
	my ($out, $err) = ("$self->{dir}/liuctl.out", "$self->{dir}/liuctl.err");
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', $out or die;
		open STDERR, '>', $err or die;
		exec bin_dir() . '/liuctl', '--socket', $self->{sock}, @args or exit 127;
	}
	waitpid($pid, 0);
	my $rc = $? >> 8;
	my $text = sub { open my $f, '<:raw', $_[0] or return ''; local $/; return decode_utf8(<$f> // '') };
	return ($rc, $text->($out), $text->($err));
}

sub stop {
	my ($self, $sig) = @_;
	return unless $self->{pid};
	kill($sig // 'TERM', $self->{pid});
	waitpid($self->{pid}, 0);
	$self->{exit} = $? >> 8;
	$self->{signal} = $? & 127;
	$self->{pid} = undef;
	if ($ENV{LIUD_VALGRIND} && ($sig // 'TERM') ne 'KILL') {
		# memcheck's findings, if any, fail the test through the exit status
		# (--error-exitcode) and are shown here.
		for my $f (glob "$self->{dir}/valgrind.*.log") {
			open my $v, '<', $f or next;
			my $t = do { local $/; <$v> };
			print STDERR "# valgrind: $f\n$t" if length $t;
			unlink $f;
		}
	}
	return $self->{exit};
}

sub DESTROY { my $s = shift; $s->stop('KILL') if $s->{pid} }

# A complete, eligible application: every identifier of the criteria "met".
# Each call is another service (the pack allows one live record per service:
# 法人番号 or provider, and name): the first is 「クラウド会計SaaS」, the next
# 「クラウド会計SaaS 2」, and so on; a test that means the same service names it.
my $apps = 0;
sub good_app {
	my (%over) = @_;
	$apps++;
	my @ids;
	open my $f, '<', 'rules/ismap-liu/data/ismap-criteria-2022-04-01.csv' or die $!;
	<$f>;
	while (<$f>) { chomp; my @c = parse_line(',', 0, $_); push @ids, $c[4] }
	my %controls = map { $_ => 'met' } @ids;
	return {
		service_name => 'クラウド会計SaaS' . ($apps > 1 ? " $apps" : ''), provider_name => '株式会社テスト',
		provider_corporate_number => '7000012050002',    # the pack confirms a service by its 法人番号
		impact_assessment => { assessor => 'デジタル庁', assessor_type => 'national_agency',
				       route => 'agency', result => 'low', assessed_on => '2023-06-01' },
		statement => { criteria_version => '2022-04-01', stated_on => '2023-06-10',
			       controls => \%controls },
		pledge => { submitted_on => '2023-06-15' },
		planned_liu_application => '2025-03',
		certifications => [ { name => 'ISO/IEC 27001', valid_until => '2026-03-31' } ],
		%over,
	};
}

1;
