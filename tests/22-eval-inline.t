#!/usr/bin/perl
# eval with the record inline: a request of some size has its record read
# from the line's text straight into Lua (core/reqrec.c), a small one or an
# unusual one takes the decoded path.  Both must answer alike, and a line
# the decoded path refuses (a key given twice, a number out of range,
# broken JSON) is refused all the same, with the same error.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;

binmode Test::More->builder->$_, ':utf8' for qw(output failure_output todo_output);

my $AT = '2024-06-01T10:00:00+09:00';
my $d = Liud::start_daemon(clock => $AT);
my $app = Liud::good_app();
my $json = Liud::json();

# One raw line on its own connection; the decoded reply.
sub raw {
	my ($line) = @_;
	my $s = $d->connect;
	print $s $line, "\n";
	my $r = <$s>;
	close $s;
	return $json->decode($r);
}

# The decoded path: a whole record without a kind (the daemon puts in the
# pack's first kind).  The text path: just the data, and a whole record
# with its kind.
my $tree = $d->ok_call('eval', { record => { data => $app }, at => $AT });
is($tree->{decision}, 'eligible', 'a good application inline is eligible');
my $data = $d->ok_call('eval', { record => $app, at => $AT });
is_deeply($data, $tree, 'its data alone answers the same');
my $whole = $d->ok_call('eval', { record => { kind => 'application', data => $app }, at => $AT });
is_deeply($whole, $tree, 'a whole record with its kind answers the same');

# A failing application: the same reasons either way.
my %bad = (%$app, impact_assessment => { %{ $app->{impact_assessment} }, result => 'moderate' });
my $bt = $d->ok_call('eval', { record => { data => \%bad }, at => $AT });
my $bd = $d->ok_call('eval', { record => \%bad, at => $AT });
is($bd->{decision}, 'ineligible', 'a failing application inline is ineligible');
is_deeply($bd, $bt, '... with the same checks and reasons by either path');

# Eval of the same application stored answers the same, but for its id.
my $id = $d->ok_call('act', { action => 'submit', params => $app })->{record}{id};
my $stored = $d->ok_call('eval', { id => $id, at => $AT });
delete $stored->{id};
is_deeply([ map { [ $_->{id}, $_->{ok} ] } @{ $stored->{checks} } ],
	  [ map { [ $_->{id}, $_->{ok} ] } @{ $data->{checks} } ], 'the stored record is judged alike');

# What the decoded path refuses is refused on the long line too.
my $line = $json->encode({ jsonrpc => '2.0', id => 5, method => 'eval', params => { record => $app, at => $AT } });
cmp_ok(length $line, '>', 2048, 'the request is long enough for the text path');
(my $dup = $line) =~ s/"record":\{/"record":{"pledge":1,/;
my $r = raw($dup);
is($r->{error}{code}, -32700, 'a key given twice in the record is a parse error');
like($r->{error}{message}, qr/duplicate object key/, '... naming the duplicate key');
(my $dup2 = $line) =~ s/("controls":\{)/$1"5.1.1":"met",/;
isnt($dup2, $line, 'a control given twice, deep in the statement');
is(raw($dup2)->{error}{code}, -32700, '... is a parse error too');
(my $big = $line) =~ s/"record":\{/"record":{"x":1e999999,/;
like(raw($big)->{error}{message}, qr/overflow/, 'a number out of range is refused as before');
(my $cut = $line) =~ s/\}\}$//;
is(raw($cut)->{error}{code}, -32700, 'a line cut short is a parse error');
(my $twice = $line) =~ s/"record":\{/"record":{},"record":{/;
is(raw($twice)->{error}{code}, -32700, 'record given twice is a parse error');
(my $nul = $line) =~ s/"record":\{/"record":{"x":"a\\u0000b",/;
like(raw($nul)->{error}{message}, qr/parse error/, 'a string holding \\u0000 is refused as before');
(my $lone = $line) =~ s/"record":\{/"record":{"x":"\\ud800",/;
like(raw($lone)->{error}{message}, qr/parse error/, 'a lone surrogate escaped is refused as before');
my $deep = '[' x 300 . ']' x 300;
(my $nest = $line) =~ s/"record":\{/"record":{"x":$deep,/;
ok(raw($nest)->{error}, 'a record nested too deep is refused');
is(raw($line)->{result}{decision}, 'eligible', 'and the line itself is answered');

# The same lines, each once on the text path and once on the ordinary one:
# a key of params after the record written with an escape ("\u0061t" is
# "at") sends the line to jansson whole (core/reqrec.c), and jansson's
# error lies before it, so the two replies must be the same, byte
# positions included.
my $rec = $json->encode($app);
sub both_ways {
	my ($name, $from, $to) = @_;
	my $r = $rec;
	$r =~ s/\Q$from\E/$to/ or die "no $from";
	my ($plain, $esc) = map { qq({"jsonrpc":"2.0","id":7,"method":"eval","params":{"record":$r,"$_":"$AT"}}) }
		('at', '\u0061t');
	my ($p, $e) = (raw($plain), raw($esc));
	is_deeply($p, $e, "$name: the same reply on either path")
		or diag explain [ $p, $e ];
	return $p;
}
ok(both_ways('a good record', '{', '{')->{result}, '... an answer');
like(both_ways('a key twice', '{', '{"pledge":1,')->{error}{message}, qr/duplicate object key/, '... the duplicate named');
like(both_ways('a key twice, the second null', '{', '{"pledge":null,')->{error}{message}, qr/duplicate/, '...');
both_ways('a control twice', '"controls":{', '"controls":{"5.1.1":"met",');
like(both_ways('a number out of range', '{', '{"x":-1e999999,')->{error}{message}, qr/overflow/, '...');
both_ways('an integer past 64 bits', '{', '{"x":18446744073709551616,');
both_ways('a missing comma', '{', '{"x":1 ');
both_ways('a comma too many', '{', '{"x":1,,');
both_ways('a bare word', '{', '{"x":nul,');
both_ways('\\u0000', '{', '{"x":"a\\u0000b",');
both_ways('a lone surrogate', '{', '{"x":"\\udc00",');
both_ways('a pair of surrogates', '{', '{"x":"\\ud83d\\ude00",');
both_ways('invalid UTF-8', '{', "{\"x\":\"\xff\",");
both_ways('a raw control character', '{', "{\"x\":\"a\tb\",");

# Another method's "record" stays with the decoded path.
my $other = $json->encode({ jsonrpc => '2.0', id => 6, method => 'status', params => { record => $app } });
ok(exists raw($other)->{result} || exists raw($other)->{error}, 'a record sent to another method is harmless');

ok($d->alive, 'the daemon is alive');
$d->stop;
done_testing();
