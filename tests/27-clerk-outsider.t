#!/usr/bin/perl
# What an outsider (a clerk, a new operator) met trying the product as its
# README and liuctl(1) describe it:
# - `--columns` naming a column that does not exist is a usage error (exit
#   2) with nothing on standard output, rather than a partial table or CSV
#   that a redirect would keep as if it were the list asked for; with
#   --format json (the whole result) it is refused, not ignored;
# - an unknown record says "not found" once in English and once in
#   Japanese, not its English reason twice in other words;
# - `act amend` names as amended the fields whose value changed, and the
#   others given as they were as unchanged;
# - `rules check` or `rules reload` of a folder that is not there says so
#   in Japanese too;
# - the metric liud_enforced_records_total counts the records a deadline
#   changed (it stayed 0 while `deadlines --all` showed the changes).
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;

delete $ENV{$_} for qw(LIUD_SOCKET COLUMNS PAGER LIUCTL_PAGER);

my $d = Liud::start_daemon(clock => '2025-03-31T23:00:00+09:00');
$d->ok_call('act', { action => 'submit', params => Liud::good_app() });
$d->ok_call('act', { action => 'submit', params => Liud::good_app() });

# --- --columns with a name that is not a column ------------------------------------------

for my $case ([ 'record list (table)', 'id', 'record', 'list' ],
	      [ 'record list --format csv', 'id', 'record', 'list', '--format', 'csv' ],
	      [ 'deadlines --format tsv', 'at', 'deadlines', '--format', 'tsv' ],
	      [ 'view service-list --format tsv', 'id', 'view', 'service-list', '--format', 'tsv' ]) {
	my ($name, $known, @args) = @$case;
	my ($rc, $out, $err) = $d->liuctl(@args, '--columns', "$known,provder");
	is($rc, 2, "$name --columns $known,provder: a usage error");
	is($out, '', '... and nothing on standard output') or diag $out;
	like($err, qr/--columns: no column provder/, '... naming the column not found') or diag $err;
}
my ($rc, $out, $err) = $d->liuctl('record', 'list', '--format', 'csv', '--columns', 'id,provider');
is($rc, 0, 'record list --columns id,provider still prints') or diag $err;
like($out, qr/^\x{feff}id,provider_name\r\nLIU-000001,/, '... the columns asked for');

# --format json prints the daemon's whole result: --columns cannot pick from
# it, and is refused rather than silently ignored.
for my $json (['--format', 'json'], ['--json']) {
	($rc, $out, $err) = $d->liuctl('record', 'list', @$json, '--columns', 'id,decision');
	is($rc, 2, "record list @$json --columns: a usage error, not the columns ignored");
	is($out, '', '... nothing on standard output');
	like($err, qr/--columns.*(tsv|csv)/, '... pointing to tsv or csv') or diag $err;
}

# --- a wrapped cell: a piece that fills its column exactly ends a line, and
# the space after it does not start the next one (rules history at 120
# columns showed one of its files a column to the right of the others).
{
	local $ENV{COLUMNS} = 120;
	($rc, $out, $err) = $d->liuctl('rules', 'history');
	is($rc, 0, 'rules history at 120 columns') or diag $err;
	my @l = split /\n/, $out;
	my ($head) = grep { $l[$_] =~ /^SEQ\s/ } 0 .. $#l;
	my $files = defined $head ? index($l[$head], 'FILES') : -1;
	cmp_ok($files, '>', 0, '... with its FILES column') or diag $out;
	my @off = grep { $_ > $files } map { /^( +)\S/ ? length $1 : () } @l[$head + 1 .. $#l];
	is_deeply(\@off, [], '... every wrapped line of it starting at the column') or diag $out;
}

# --- not found: each language once ---------------------------------------------------------

($rc, $out, $err) = $d->liuctl('record', 'get', 'LIU-999999');
is($rc, 1, 'record get of an unknown id exits 1');
like($err, qr/LIU-999999/, 'the error names the id');
like($err, qr/該当する記録がありません/, '... in Japanese');
my @en = $err =~ /(no such record|no record)/g;
is(scalar @en, 1, '... and says it in English once') or diag $err;

# --- amend: what it says it changed is what changed -------------------------------------

($rc, $out, $err) = $d->liuctl('act', 'amend', 'LIU-000002', 'planned_liu_application=2025-03',
			       'certifications=[{"name":"ISO/IEC 27017","valid_until":"2026-01-31"}]');
is($rc, 0, 'amend with one field as stored and one new') or diag $err;
like($out, qr/^  amended: fields=certifications$/m, '... names the one it changed only') or diag $out;
($rc, $out, $err) = $d->liuctl('act', 'amend', 'LIU-000002', 'impact_assessment.result=低位');
is($rc, 0, 'amend with the value stored (by its label)') or diag $err;
unlike($out, qr/amended:/, '... does not say it amended anything') or diag $out;
like($out, qr/unchanged: fields=impact_assessment/, '... but that the field is as it was') or diag $out;

# --- a rule pack folder that is not there: said in both languages -----------------------

for my $cmd (['rules', 'check'], ['rules', 'reload']) {
	($rc, $out, $err) = $d->liuctl(@$cmd, '/nonexistent/candidate');
	is($rc, 1, "@$cmd of a folder that does not exist exits 1");
	like($err, qr{/nonexistent/candidate: No such file or directory}, '... saying so in English') or diag $err;
	like($err, qr{ルールパックのフォルダ.*ありません}, '... and in Japanese') or diag $err;
}

# --- metrics: the records enforcement changed --------------------------------------------

$d->ok_call('clock.set', { now => '2025-03-31T23:59:59+09:00' });
my $changed;
for (1 .. 100) {
	my ($dl) = grep { $_->{measure} eq 'special-measure' && $_->{enforced} }
		@{ $d->ok_call('deadlines', { all => JSON::PP::true })->{deadlines} };
	if ($dl) { $changed = $dl->{records_affected} // $dl->{changed}; last }
	select(undef, undef, undef, 0.1);
}
ok(defined $changed && $changed >= 2, 'the deadline was enforced, changing both records')
	or diag explain $d->ok_call('deadlines', { all => JSON::PP::true });
my ($n) = $d->ok_call('metrics') =~ /^liud_enforced_records_total (\d+)$/m;
cmp_ok($n // 0, '>=', 2, 'liud_enforced_records_total counts them');

done_testing;
