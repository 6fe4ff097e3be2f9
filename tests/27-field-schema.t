#!/usr/bin/perl
# A kind's declared fields (docs/RULES.md, "Fields"): the core validates and
# normalises input from them before the pack's validate, naming each error's
# field once; rules.status describes them; `liuctl act key=value` and
# `liuctl import` of a CSV type what is typed by them (a digit string
# declared text stays text; an integer field's "0042" is 42).
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use JSON::PP;
use Encode qw(decode encode);

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
my $tmp = tempdir('liud-fields-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $LIUCTL = Liud::bin_dir() . '/liuctl';

sub slurp { local $/; open my $f, '<', $_[0] or return ''; my $s = <$f>; close $f; $s }
sub ctl {
	my ($sock, @args) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$tmp/out" or die;
		open STDERR, '>', "$tmp/err" or die;
		exec $LIUCTL, '--socket', $sock, map({ encode('UTF-8', $_) } @args) or exit 127;
	}
	waitpid($pid, 0);
	return ($? >> 8, decode('UTF-8', slurp("$tmp/out")), decode('UTF-8', slurp("$tmp/err")));
}

my $d = Liud::start_daemon(rules => 'tests/packs/fields', clock => '2024-06-01');
ok($d->alive, 'the daemon runs a pack that declares its fields') or BAIL_OUT($d->log_text);
my $S = $d->{sock};

# --- rules.status describes the record ----------------------------------------------
my $st = $d->ok_call('rules.status');
my %f = map { $_->{id} => $_ } @{ $st->{kinds}{entry}{fields} // [] };
is($f{code}{type}, 'text', 'rules.status: each field with its type');
is($f{code}{ja}, '整理コード', 'its name');
ok($f{code}{required}, 'and whether it is required');
is_deeply([ map { $_->{id} } @{ $f{kind}{values} } ], [qw(new renewal)], 'an enumeration with its codes');
is_deeply([ map { $_->{id} } @{ $f{office}{fields} } ], [qw(name since)], 'an object with its fields');

# --- the core validates, once per field ------------------------------------------------
my $r = $d->call('act', { action => 'create', params => { count => -1, kind => 'old', office => { since => '2024-02-30' }, x => 1 } });
my %e = map { $_->{field} => $_->{reason} } @{ $r->{error}{data}{errors} // [] };
is($e{code}{en}, 'is required', 'a required field missing: its path, and the reason alone in English') or diag(encode_json($r));
is($e{code}{ja}, '整理コードは必須です', 'and named once, in words, in Japanese');
like($e{count}{en}, qr/at least 0/, 'an integer below its min');
like($e{kind}{en}, qr/^must be new or renewal, not "old"$/, 'an enumeration lists its codes, the value quoted as English quotes it');
is_deeply([ grep { $_->{en} =~ /`/ } values %e ], [], 'no reason quotes code with backticks');
like($e{'office.name'}{ja}, qr/^部署名は必須です/, 'a nested field by its path');
like($e{'office.since'}{en}, qr/^not a date: no such date/, 'a nested date');
like($e{x}{en}, qr/^unknown field \(known: code, count, kind, month, office, quote, tags\)/, 'an undeclared field');

$r = $d->ok_call('act', { action => 'create', params => {
	code => ' A-1 ', count => '0042', kind => '継続', office => { name => '総務課', since => '令和6年4月1日' },
	month => '2024年5月', tags => [ 'a' ], quote => "\x{202E}x" } });
my $data = $r->{record}{data};
is($data->{code}, 'A-1', 'text is trimmed');
ok(encode_json([$data->{count}]) eq '[42]',
   'an integer given as text "0042" is stored as 42') or diag(encode_json($data));
is($data->{kind}, 'renewal', 'an alias is stored as its code');
is($data->{office}{since}, '2024-04-01', 'a date in 和暦 as YYYY-MM-DD');
is($data->{month}, '2024-05', 'a month');
$r = $d->call('act', { action => 'create', params => { code => 'q', tags => [ "\x{202E}x" ] } });
is($r->{error}{data}{errors}[0]{field}, 'tags[0]', 'bidi controls refused where the field does not allow them')
	or diag(encode_json($r));

# --- liuctl act key=value, typed by the fields ----------------------------------------
my ($rc, $out, $err) = ctl($S, 'act', 'create', 'code=404', 'count=0042', 'office.name=7', '--json');
is($rc, 0, 'liuctl act: pairs typed by the declared fields') or diag($err);
my $j = eval { decode_json(encode('UTF-8', $out)) } // {};
my $got = $j->{record}{data} // {};
is(encode_json([ $got->{code}, $got->{office}{name} ]), '["404","7"]', 'digits given to text fields stay text')
	or diag($out);
is(encode_json([ $got->{count} ]), '[42]', 'an integer field given 0042 is 42');

# --- liuctl import of a CSV: cells typed by the fields --------------------------------
open my $c, '>:encoding(UTF-8)', "$tmp/in.csv" or die;
print $c "code,count,kind\n00123,7,更新\n";
close $c;
($rc, $out, $err) = ctl($S, 'import', "$tmp/in.csv", '--action', 'create');
is($rc, 0, 'liuctl import: a CSV whose integer cell is text') or diag("$out$err");
my $list = $d->ok_call('record.list', {});
my ($imp) = grep { ($_->{data}{code} // $_->{code} // '') eq '00123' } map { $d->ok_call('record.get', { id => $_->{id} }) } @{ $list->{records} };
ok($imp, 'the row is stored, its code as written') or diag(encode_json($list));
is(encode_json([ $imp ? $imp->{data}{count} : undef ]), '[7]', 'its count a number') if $imp;

is($d->stop, 0, 'the daemon stops cleanly');

# --- fee-waiver: a CSV's employees cell is a number ---------------------------------
my $fw = Liud::start_daemon(rules => 'rules/fee-waiver', clock => '2025-05-01T10:00:00+09:00');
ok($fw->alive, 'the daemon runs fee-waiver') or diag($fw->log_text);
open $c, '>:encoding(UTF-8)', "$tmp/fw.csv" or die;
print $c "provider_id,provider_name,employees,fee_yen,applied_on\n0000000000042,事業者42,0040,300000,2025/5/1\n";
close $c;
($rc, $out, $err) = ctl($fw->{sock}, 'import', "$tmp/fw.csv", '--action', 'apply');
is($rc, 0, 'fee-waiver: a CSV row is imported (employees and fee_yen are integer fields)') or diag("$out$err");
my $w = $fw->call('record.get', { id => 'FW-0000000000042' })->{result} // {};
is(encode_json([ @{ $w->{data} // {} }{qw(provider_id employees fee_yen applied_on)} ]),
   '["0000000000042",40,300000,"2025-05-01"]', 'stored typed: the corporate number text, the counts numbers, the date ISO')
	or diag(encode_json($w));
($rc, $out, $err) = ctl($fw->{sock}, 'act', 'apply', 'provider_id=0000000000043', 'provider_name=x',
		       'employees=12', 'fee_yen=1000', 'applied_on=2025-05-01', '--json');
is($rc, 0, 'fee-waiver: act with pairs') or diag($err);
$w = $fw->call('record.get', { id => 'FW-0000000000043' })->{result} // {};
is(encode_json([ @{ $w->{data} // {} }{qw(provider_id employees)} ]), '["0000000000043",12]', 'typed by the fields');
is($fw->stop, 0, 'and stops cleanly');

# --- the helpers, and a field declared wrong ------------------------------------------
my $bin = Liud::bin_dir();
my $o = `$bin/liud test tests/packs/fields 2>&1`;
is($?, 0, 'within, allowed_on and unstated: the pack\'s tests pass') or diag($o);
like($o, qr/^ok 8 - /m, 'all eight');
mkdir "$tmp/bad";
open my $b, '>', "$tmp/bad/pack.lua" or die;
print $b qq{pack { name = "bad", version = "1" }\nkind "k" { states = { "s" },\n  fields = { n = { type = "int" } } }\n};
close $b;
$o = decode('UTF-8', scalar `$bin/liud check $tmp/bad 2>&1`);
isnt($?, 0, 'a field of an unknown type: the pack does not load');
like($o, qr/pack\.lua:2: kind "k": fields: n: type is one of text, integer/, 'naming the line, the kind, the field and the types')
	or diag($o);
done_testing;
