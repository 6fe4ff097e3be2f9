#!/usr/bin/perl
# call.pl SOCKET METHOD [PARAMS-JSON] — one JSON-RPC request, the reply line
# on stdout.  Run by the trust tests as other users (setpriv), so it uses
# nothing but Perl's core modules.
use strict;
use warnings;
use IO::Socket::UNIX;
my ($sock, $method, $params) = @ARGV;
# A daemon that refuses the connection writes its reason and closes, maybe
# before the request is sent: the write then fails, the reason is still read.
$SIG{PIPE} = 'IGNORE';
my $s = IO::Socket::UNIX->new(Peer => $sock, Type => SOCK_STREAM) or do { print qq({"connect_error":"$!"}\n); exit 3 };
print $s qq({"jsonrpc":"2.0","id":1,"method":"$method") . (defined $params ? qq(,"params":$params) : '') . "}\n";
my $line = <$s>;
print defined $line ? $line : qq({"no_reply":true}\n);
