#!/usr/bin/perl
# What an action changed, as the daemon works it out: `validate` is given the
# set of top-level fields the action changed (all of them for a new record),
# fields still equal afterwards are stored as they were (same text, same
# order), and a change made in place deep inside a field is seen.  After a
# reload with stricter validation, a field left alone is not judged again;
# one that is changed is.  (docs/RULES.md, `validate`; prelude.lua, act.)
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

my $tmp = tempdir('liud-changed-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $pack = "$tmp/changed";
mkdir $pack or die;

sub write_pack {
	my ($strict) = @_;
	open my $f, '>:utf8', "$pack/main.lua" or die;
	print $f <<"LUA";
pack { name = "changed", title = { ja = "変更の検出", en = "change detection" } }
local STRICT = $strict

kind "doc" {
  id_prefix = "D-",
  states = { "open" },
  -- Says what it was given to validate in app.seen: "*" for all, else the
  -- changed fields, sorted.  Lower-cases tags (a normalisation).
  validate = function (app, err, at, changed)
    local names = {}
    if changed then for k in pairs(changed) do names[#names + 1] = k end end
    table.sort(names)
    app.seen = changed and table.concat(names, ",") or "*"
    local function want(k) return changed == nil or changed[k] end
    if want("meta") and type(app.meta) == "table" and type(app.meta.tags) == "table" then
      for i, t in ipairs(app.meta.tags) do
        if type(t) ~= "string" then err("meta.tags", "文字列ではありません", "not a text")
        else app.meta.tags[i] = t:lower() end
      end
    end
    if want("title") and STRICT and type(app.title) == "string" and app.title:find("bad", 1, true) then
      err("title", "題名に bad は使えません", "title: `bad` is not allowed")
    end
  end,
}

role "secretariat" { title = { ja = "事務局", en = "secretariat" } }
local SEC = { "secretariat" }
action "create" { kind = "doc", roles = SEC, creates = true, to = "open" }
action "set" { kind = "doc", roles = SEC, from = { "open" },
  run = function (app, p) for k, v in pairs(p) do if v == "DELETE" then app[k] = nil else app[k] = v end end end }
action "tag" { kind = "doc", roles = SEC, from = { "open" },   -- in place, two levels down
  run = function (app, p) app.meta.tags[#app.meta.tags + 1] = p.tag end }
action "recopy" { kind = "doc", roles = SEC, from = { "open" }, -- a new table, equal to the old
  run = function (app) app.meta = copy(app.meta) end }
action "nothing" { kind = "doc", roles = SEC, from = { "open" }, run = function () end }
action "copy_empty" { kind = "doc", roles = SEC, from = { "open" },
  run = function (app) app.empty2 = copy(app.empty) end }
LUA
	close $f;
}
write_pack('false');

my $d = Liud::start_daemon(clock => '2024-06-01', rules => $pack);
my $JSON = Liud::json();

# The raw reply text of record.get: key order is what is stored.
sub raw_get {
	my ($id) = @_;
	my $s = $d->connect;
	print $s qq({"jsonrpc":"2.0","id":1,"method":"record.get","params":{"id":"$id"}}\n);
	my $line = <$s>;
	close $s;
	return $line;
}
# The top-level keys of "data" in a raw reply, in order.
sub data_keys {
	my ($line) = @_;
	my $p = index($line, '"data":{');
	return '' if $p < 0;
	my @c = split //, substr($line, $p + 7);
	my ($depth, $inq, $reading, $key, @k) = (0, 0, 0, '');
	for (my $i = 0; $i < @c; $i++) {
		my $ch = $c[$i];
		if ($inq) {
			if ($ch eq '\\') { $i++; next }
			if ($ch eq '"') { $inq = 0; push @k, $key if $reading; $reading = 0; next }
			$key .= $ch if $reading;
			next;
		}
		if ($ch eq '"') {
			$inq = 1;
			($reading, $key) = (1, '') if $depth == 1 && $c[$i - 1] =~ /[{,]/;
			next;
		}
		$depth++ if $ch eq '{' || $ch eq '[';
		$depth-- if $ch eq '}' || $ch eq ']';
		last if $depth == 0;
	}
	return join ',', @k;
}

my $r = $d->ok_call('act', { action => 'create', params => {
	title => 'First', body => 'text', meta => { tags => [ 'A', 'B' ], level => 3 },
	zeta => 1, alpha => { deep => { deeper => [ 1, 2, 3 ] } }, empty => [] } });
my $id = $r->{record}{id};
is($r->{record}{data}{seen}, '*', 'a new record: validate is given no set (everything is validated)');
is_deeply($r->{record}{data}{meta}{tags}, [ 'a', 'b' ], 'and normalises');
my $order0 = data_keys(raw_get($id));
like($order0, qr/^(\w+,){6}\w+$/, 'the stored record lists its seven fields') or diag raw_get($id);

# One field changed: only it is validated; the rest is stored as it was.
my $before = raw_get($id);
$r = $d->ok_call('act', { action => 'set', id => $id, params => { title => 'Second' } });
is($r->{record}{data}{seen}, 'title', 'a changed field: validate is given just it');
is($r->{record}{data}{title}, 'Second', 'and it is stored');
my $after = raw_get($id);
is(data_keys($after), $order0, 'the fields keep their order');
my ($m0) = $before =~ /("alpha":\{.*?\]\}\})/;
my ($m1) = $after =~ /("alpha":\{.*?\]\}\})/;
ok(defined $m0 && $m0 eq $m1, 'an unchanged field is stored as the same text');
is_deeply($r->{record}{data}{alpha}, { deep => { deeper => [ 1, 2, 3 ] } }, 'and the same value');
is_deeply($r->{record}{data}{empty}, [], 'an empty list stays a list');

# A field changed by validation itself (seen) is stored too, though the
# action did not touch it: what validation leaves is what is stored.
is($d->ok_call('record.get', { id => $id })->{data}{seen}, 'title', "validation's own change is stored");

# Several changes at once, a removal among them.
$r = $d->ok_call('act', { action => 'set', id => $id, params => { body => 'DELETE', zeta => 2, extra => 'x' } });
is($r->{record}{data}{seen}, 'body,extra,zeta', 'changed, added and removed fields are all in the set');
ok(!exists $r->{record}{data}{body}, 'the removed field is gone');
is($r->{record}{data}{extra}, 'x', 'the new field is there');
is(data_keys(raw_get($id)), join(',', (grep { $_ ne 'body' } split /,/, $order0), 'extra'),
   'the others keep their places; the new field comes last');

# A change in place, two levels down, is seen and validated.
$r = $d->ok_call('act', { action => 'tag', id => $id, params => { tag => 'NEW' } });
is($r->{record}{data}{seen}, 'meta', 'a change in place inside a field: that field is in the set');
is_deeply($r->{record}{data}{meta}{tags}, [ 'a', 'b', 'new' ], 'stored, and normalised by validation');

# A new table equal to the old, and an action that changes nothing: no validation.
my $rev = $r->{record}{rev};
$r = $d->ok_call('act', { action => 'recopy', id => $id });
is($r->{record}{data}{seen}, 'meta', 'an equal copy is not a change: validation did not run');
is($r->{record}{rev}, $rev + 1, 'the action is still recorded');
$r = $d->ok_call('act', { action => 'nothing', id => $id });
is($r->{record}{data}{seen}, 'meta', 'nothing changed: validation did not run');
is_deeply($r->{record}{data}{meta}, { tags => [ 'a', 'b', 'new' ], level => 3 }, 'and the data is whole');

# copy keeps the list mark: a copied empty list is stored as [], not {}.
$r = $d->ok_call('act', { action => 'copy_empty', id => $id });
like(raw_get($id), qr/"empty2":\[\]/, 'a copy of an empty list is stored as a list');

# Stricter rules: a field left alone is not judged again; a changed one is.
$r = $d->ok_call('act', { action => 'set', id => $id, params => { title => 'a bad title' } });
is($r->{record}{data}{title}, 'a bad title', 'accepted while the rule allows it');
write_pack('true');
$d->ok_call('rules.reload', {});
$r = $d->call('act', { action => 'set', id => $id, params => { zeta => 3 } });
ok(!$r->{error}, 'after a stricter reload, changing another field is accepted')
	or diag $JSON->encode($r->{error});
is($r->{result}{record}{data}{title}, 'a bad title', 'the old title is kept as it was');
$r = $d->call('act', { action => 'set', id => $id, params => { title => 'another bad one' } });
is($r->{error}{code}, -32602, 'changing the field itself is judged by the new rule');
is($r->{error}{data}{field}, 'title', 'naming it');
is($r->{error}{data}{reason}{en}, 'title: `bad` is not allowed', 'with the reason');
$r = $d->call('act', { action => 'create', params => { title => 'bad too' } });
is($r->{error}{code}, -32602, 'a new record is judged in full');

# The kept fields survive a restart (they were written, not only cached).
my $text = raw_get($id);
$d->stop;
$d->start;
is(data_keys(raw_get($id)), data_keys($text), 'after a restart: the same fields, in the same order');
is_deeply($d->ok_call('record.get', { id => $id })->{data}{alpha}, { deep => { deeper => [ 1, 2, 3 ] } },
	  'and the same values');
$d->stop;
done_testing;
