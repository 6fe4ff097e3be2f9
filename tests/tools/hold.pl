#!/usr/bin/perl
# hold.pl SOCKET N — a hostile client for the connection tests, run as other
# users with setpriv: opens N connections and holds them, answering the test
# on stdout (one JSON line) for each command it reads on stdin:
#   (at start)     {"open":k,"refused":r,"messages":[...]} after 0.3 s, the
#                  connections the daemon refused (a reply line or EOF) apart
#   count          {"open":k}: those still open (a closed one shows EOF)
#   trickle SECS   one byte of a request that never ends on every open
#                  connection every 0.2 s, until all are closed or SECS pass:
#                  {"open":k,"closed":c,"first_s":..,"last_s":..,"messages":[...]}
# EOF on stdin ends it.  Core Perl only, as call.pl.
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use JSON::PP;
use Time::HiRes qw(time sleep);

$SIG{PIPE} = 'IGNORE';
$| = 1;
my ($path, $n) = @ARGV;
my (@open, %seen);
for (1 .. $n) {
	my $s = IO::Socket::UNIX->new(Peer => $path, Type => SOCK_STREAM) or next;
	$s->blocking(0);
	push @open, { s => $s, buf => '' };
}

# Reads what each connection has; returns those the daemon closed (EOF),
# keeping their first line as the message.
sub reap {
	my ($wait) = @_;
	my $sel = IO::Select->new(map { $_->{s} } @open);
	my $until = time + $wait;
	my @gone;
	do {
		for my $fh ($sel->can_read(0.05)) {
			my ($c) = grep { $_->{s} == $fh } @open;
			my $r = sysread($fh, my $b, 65536);
			if (defined $r && $r > 0) { $c->{buf} .= $b; next }
			next if !defined $r && $!{EAGAIN};
			$sel->remove($fh);
			push @gone, $c;
			@open = grep { $_ != $c } @open;
		}
	} while (time < $until && @open);
	for my $c (@gone) {
		my ($line) = split /\n/, $c->{buf};
		my $m = eval { decode_json($line)->{error}{message} } // '(closed without a reply)';
		$seen{$m}++;
	}
	return @gone;
}

my $js = JSON::PP->new->canonical;
my @refused = reap(0.3);
print $js->encode({ open => scalar @open, refused => scalar @refused, messages => [ sort keys %seen ] }), "\n";
%seen = ();
while (my $cmd = <STDIN>) {
	if ($cmd =~ /^count/) {
		reap(0.05);
		print $js->encode({ open => scalar @open }), "\n";
	} elsif ($cmd =~ /^trickle (\S+)/) {
		my ($secs, $t0, @times, $closed) = ($1, time);
		my $first = 1;
		while (@open && time - $t0 < $secs) {
			syswrite($_->{s}, $first ? '{' : ' ') for @open;
			$first = 0;
			my @gone = reap(0.2);
			push @times, (time - $t0) x @gone;
		}
		print $js->encode({ open => scalar @open, closed => scalar @times,
				    first_s => $times[0], last_s => $times[-1], messages => [ sort keys %seen ] }), "\n";
		%seen = ();
	}
}
