#!/usr/bin/perl
# A request line over 256 KiB is decoded on a worker, not on the loop: it
# is answered like any other, in order with the lines pipelined after it,
# also when the client shuts its sending side down right after it; a long
# line that is not JSON gets the parse error.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;

my $J = Liud::json();
my $d = Liud::start_daemon(rules => 'tests/packs/mini');
my $pad = 'x' x (400 << 10);
sub line { my ($id, $method) = @_; qq({"jsonrpc":"2.0","id":$id,"method":"$method","params":{"pad":"$pad"}}\n) }

# Half-closed after one long line: still answered.
{
	my $s = $d->connect;
	print $s line(1, 'status');
	$s->flush;
	shutdown($s, 1);
	my $l = <$s>;
	my $r = $l && $J->decode($l);
	ok($r && $r->{id} == 1 && $r->{result}{version}, 'a long line, then the sending side shut: answered');
	close $s;
}

# Pipelined: long, short, long, short — answered in order.
{
	my $s = $d->connect;
	print $s line(1, 'status'), qq({"jsonrpc":"2.0","id":2,"method":"status"}\n), line(3, 'status'),
		qq({"jsonrpc":"2.0","id":4,"method":"status"}\n);
	$s->flush;
	my @ids = map { my $l = <$s>; $l ? $J->decode($l)->{id} : undef } 1 .. 4;
	is_deeply(\@ids, [ 1, 2, 3, 4 ], 'long and short lines pipelined are answered in order');
	close $s;
}

# Not JSON.
{
	my $s = $d->connect;
	print $s '{"jsonrpc":"2.0","id":1,"method":"status","params":{"pad":"' . $pad . "\n";
	my $l = <$s>;
	my $r = $l && $J->decode($l);
	is($r && $r->{error}{code}, -32700, 'a long line that is not JSON: a parse error');
	close $s;
}

is($d->call('status')->{result}{version} ? 1 : 0, 1, 'the daemon answers after them');
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
