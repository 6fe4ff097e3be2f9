#!/usr/bin/perl
# The wire protocol against a real daemon: framing, pipelining, errors, limits.
use strict;
use warnings;
use lib 'tests/lib';
use Liud;
use Test::More;

my $d = Liud::start_daemon(clock => '2024-01-01T10:00:00+09:00');
ok($d->alive, 'daemon started');
my $st = $d->ok_call('status');
is($st->{clock}{mode}, 'test', 'status: test clock');
like($st->{rules}{version}, qr/^[0-9a-f]{64}$/, 'status: rules version hash');

# Pipelining: 200 requests in one write, replies in order.
{
	my $s = $d->connect;
	my $buf = join '', map { json->encode({ jsonrpc => '2.0', id => $_, method => 'status' }) . "\n" } 1 .. 200;
	print $s $buf;
	my @ids;
	for (1 .. 200) { my $l = <$s>; push @ids, json->decode($l)->{id} }
	is_deeply(\@ids, [1 .. 200], 'pipelined replies come back in request order');
	close $s;
}

# A client that writes everything, half-closes, then reads: every reply
# arrives (the daemon waits for its queued writes before closing).
{
	my @r = $d->pipeline('rules.status', map { {} } 1 .. 3000);
	is(scalar @r, 3000, 'a half-closed pipelining client gets all 3,000 replies');
}

# Malformed JSON: -32700 and the connection stays usable.
{
	my $s = $d->connect;
	print $s "{not json\n";
	my $r = json->decode(scalar <$s>);
	is($r->{error}{code}, -32700, 'malformed JSON gives -32700');
	ok(exists $r->{id} && !defined $r->{id}, 'with id null');
	print $s json->encode({ jsonrpc => '2.0', id => 7, method => 'status' }), "\n";
	$r = json->decode(scalar <$s>);
	is($r->{id}, 7, 'the connection is still usable after a parse error');
	close $s;
}

# Invalid requests.
for my $case ([ '[1,2]', -32600, 'a batch array' ],
	      [ '{"id":1,"method":"status"}', -32600, 'missing jsonrpc' ],
	      [ '{"jsonrpc":"2.0","id":1}', -32600, 'missing method' ],
	      [ '{"jsonrpc":"2.0","id":{"a":1},"method":"status"}', -32600, 'an object id' ],
	      [ '{"jsonrpc":"2.0","id":1,"method":"nope"}', -32601, 'an unknown method' ],
	      [ '{"jsonrpc":"2.0","id":1,"method":"record.get","params":[1]}', -32602, 'positional params' ],
	      [ '{"jsonrpc":"2.0","id":1,"method":"record.get","params":{}}', -32602, 'a missing param' ],
	      [ '{"jsonrpc":"2.0","id":1,"id":2,"method":"status"}', -32700, 'duplicate keys' ],
	      [ '{"jsonrpc":"2.0","id":1,"method":"record.get","params":{"id":"LIU-999999"}}', -32002, 'a missing record' ],
	      [ '{"jsonrpc":"2.0","id":1,"method":"eval","params":{"id":"x","at":"2023-02-30"}}', -32602, 'an impossible date' ]) {
	my $s = $d->connect;
	print $s $case->[0], "\n";
	my $r = json->decode(scalar <$s>);
	is($r->{error}{code}, $case->[1], "$case->[2] gives $case->[1]");
	close $s;
}
{
	my $r = $d->call('eval', { id => 'x', at => '2023-02-30' });
	is($r->{error}{data}{field}, 'at', 'invalid params name the field');
	ok($r->{error}{data}{reason}{ja} && $r->{error}{data}{reason}{en}, 'and say why in Japanese and English');
}

# A notification gets no reply; the next request's reply is the next line.
{
	my $s = $d->connect;
	print $s json->encode({ jsonrpc => '2.0', method => 'status' }), "\n";
	print $s "\n"; # blank lines are ignored
	print $s json->encode({ jsonrpc => '2.0', id => 'after', method => 'status' }), "\n";
	my $r = json->decode(scalar <$s>);
	is($r->{id}, 'after', 'a notification gets no reply');
	close $s;
}

# An oversized line: -32007, then the connection goes on.
{
	my $s = $d->connect;
	my $big = '{"jsonrpc":"2.0","id":1,"method":"status","params":{"x":"' . ('a' x (2 << 20)) . '"}}';
	print $s $big, "\n";
	my $r = json->decode(scalar <$s>);
	is($r->{error}{code}, -32007, 'a line over request_bytes gives -32007');
	print $s json->encode({ jsonrpc => '2.0', id => 2, method => 'status' }), "\n";
	$r = json->decode(scalar <$s>);
	is($r->{id}, 2, 'the connection goes on after an oversized line');
	close $s;
}

# Invalid UTF-8 and NUL bytes are parse errors, not crashes.
{
	my $s = $d->connect;
	print $s qq({"jsonrpc":"2.0","id":1,"method":"st\xff\xfeatus"}\n);
	my $r = json->decode(scalar <$s>);
	is($r->{error}{code}, -32700, 'invalid UTF-8 gives -32700');
	print $s qq({"jsonrpc":"2.0","id":1,"method":"status\\u0000x"}\n);
	$r = json->decode(scalar <$s>);
	ok($r->{error}, 'a NUL inside a string is an error reply');
	close $s;
}
# Deep nesting is refused by the parser.
{
	my $s = $d->connect;
	print $s '{"jsonrpc":"2.0","id":1,"method":"status","params":{"a":' . ('[' x 20000) . (']' x 20000) . "}}\n";
	my $r = json->decode(scalar <$s>);
	is($r->{error}{code}, -32700, 'nesting 20,000 deep gives -32700');
	close $s;
}

ok($d->alive, 'the daemon survived all of it');
is($d->stop, 0, 'SIGTERM stops it cleanly (exit 0)');
ok(!-e $d->{sock}, 'the socket is removed on stop');
like($d->log_text, qr/stopping reason=SIGTERM/, 'the stop is logged');
done_testing;
