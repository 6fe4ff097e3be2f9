#!/usr/bin/perl
# flood.pl SOCKET METHOD PARAMS-JSON COUNT — the same request COUNT times on
# one connection, pipelined (a writer process and a reader), as an outsider
# would; prints {"replies":N,"codes":{"<code>":n,...}} on stdout (code 0: a
# result).  Run by the tests as other users (setpriv), so core modules only.
use strict;
use warnings;
use IO::Socket::UNIX;
use POSIX ();
use JSON::PP;
my ($sock, $method, $params, $count) = @ARGV;
my $s = IO::Socket::UNIX->new(Peer => $sock, Type => SOCK_STREAM) or do { print qq({"connect_error":"$!"}\n); exit 3 };
my $pid = fork // die "fork: $!";
if ($pid == 0) {
	for my $i (1 .. $count) {
		print $s qq({"jsonrpc":"2.0","id":$i,"method":"$method","params":$params}\n);
	}
	$s->flush;
	shutdown($s, 1);
	POSIX::_exit(0);
}
my ($n, %codes) = (0);
while (my $l = <$s>) {
	$n++;
	my $r = eval { decode_json($l) } // {};
	my $code = $r->{error} ? $r->{error}{code} // '?' : 0;
	$codes{$code}++;
}
waitpid($pid, 0);
print qq({"replies":$n,"codes":{), join(',', map { qq("$_":$codes{$_}) } sort keys %codes), "}}\n";
