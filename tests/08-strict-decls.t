#!/usr/bin/perl
# Declarations are strict: a key that pack{}, kind{}, action{}, view{},
# role{}, check{} or on_expiry{} does not take (a misspelt `sumary_fields =`) stops
# the pack at `rules check`, naming the key, the declaration, its line and
# the closest key it does take.  Without this the declaration loads without
# what its author meant it to have, and nothing says so.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);

my $LIUD = ($ENV{LIUD_BIN} // 'bin') . '/liud';
my $dir = tempdir('liud-decl-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my $base = <<'LUA';
pack { name = "strict", title = { ja = "厳格", en = "strict" }%PACK% }
measure "m" { temporary = true, from = "2025-01-01", till = "2025-12-31", cap = 3 }
role "clerk" { title = { ja = "担当", en = "clerk" }%ROLE% }
kind "note" { states = { "open", "closed" }%KIND% }
check "C1" { title = { ja = "C1", en = "C1" }, function (app) return pass() end%CHECK% }
action "open" { kind = "note", roles = { "clerk" }, creates = true, to = "open"%ACTION% }
view "notes" { kind = "note", roles = { "clerk" }, columns = { { id = "id" } },
               row = function (app, rec) return { id = rec.id } end%VIEW% }
on_expiry "m" { kind = "note", states = { "open" }, run = function (app, at, rec) rec.state = "closed" end%EXPIRY% }
LUA

sub check_pack {
	my (%bad) = @_;
	my $text = $base;
	for my $k (qw(PACK ROLE KIND CHECK ACTION VIEW EXPIRY)) {
		my $v = $bad{$k} // '';
		$text =~ s/%$k%/$v/;
	}
	my $p = "$dir/p" . int(rand(1e9));
	mkdir $p or die;
	open my $f, '>', "$p/00-pack.lua" or die;
	print $f $text;
	close $f;
	my $out = `$LIUD check $p 2>&1`;
	return ($? >> 8, $out);
}

my ($rc, $out) = check_pack();
is($rc, 0, 'the pack without a stray key loads (a measure keeps fields of its own)') or diag($out);

my @cases = (
	[ KIND => ', sumary_fields = { "a" }', 'kind "note"', 'sumary_fields', 'summary_fields', 4 ],
	[ KIND => ', summary_feilds = { "a" }', 'kind "note"', 'summary_feilds', 'summary_fields', 4 ],
	[ PACK => ', eval_by_day = true', 'pack', 'eval_by_day', 'eval_by_date', 1 ],
	[ ACTION => ', form = { "open" }', 'action "open"', 'form', 'from', 6 ],
	[ VIEW => ', markings = { ja = "x", en = "x" }', 'view "notes"', 'markings', 'marking', 7 ],
	[ ROLE => ', method = { "eval" }', 'role "clerk"', 'method', 'methods', 3 ],
	[ CHECK => ', titel = "x"', 'check "C1"', 'titel', 'title', 5 ],
	[ EXPIRY => ', state = { "open" }', 'on_expiry "m"', 'state', 'states', 9 ],
);
for my $c (@cases) {
	my ($where, $add, $decl, $key, $near, $line) = @$c;
	($rc, $out) = check_pack($where => $add);
	isnt($rc, 0, "$decl with `$key`: refused");
	like($out, qr/00-pack\.lua:$line: \Q$decl\E: unknown key `\Q$key\E` \(did you mean `\Q$near\E`\?\)/,
	     "the message names the line, the declaration, the key and `$near`") or diag($out);
}
($rc, $out) = check_pack(KIND => ', colour = "red"');
like($out, qr/unknown key `colour`; kind takes: title, states, /, 'a key like none: the keys it takes, no guess')
	or diag($out);
done_testing;
