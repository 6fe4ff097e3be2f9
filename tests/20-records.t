#!/usr/bin/perl
# Records over the wire with the core's minimal pack: act, get, list and
# paging, if_rev conflicts, refusals, script errors, validation, views,
# history and the audit chain.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;


my $d = Liud::start_daemon(clock => '2024-06-01T09:00:00+09:00', rules => 'tests/packs/mini');
my $r = $d->ok_call('act', { action => 'create', params => { text => 'first' } });
is($r->{record}{id}, 'N-000001', 'ids come from the kind prefix and a counter');
is($r->{record}{rev}, 1, 'a new record is at rev 1');
is($r->{record}{state}, 'open', 'in the state the action names');
like($r->{record}{created_at}, qr/^2024-06-01T09:00:0\d\+09:00$/, 'created_at from the (test) clock, JST');
like($r->{rules_version}, qr/^[0-9a-f]{64}$/, 'the act result names the rules version');

my $g = $d->ok_call('record.get', { id => 'N-000001' });
is($g->{data}{text}, 'first', 'record.get returns the stored data');
is_deeply($r->{record}, $g, "act's reply carries the record as stored (what record.get reads)");
ok(exists $r->{events} && ref $r->{events} eq 'ARRAY', 'and the events, a list');

# Validation: the field and both languages.
my $e = $d->call('act', { action => 'create', params => { nottext => 1 } });
is($e->{error}{code}, -32602, 'a record failing validation gives -32602');
is($e->{error}{data}{field}, 'text', 'naming the field');
is($e->{error}{data}{reason}{ja}, '本文は必須です', 'with the Japanese reason');
is($e->{error}{data}{reason}{en}, 'text is required', 'and the English one');

# if_rev.
$e = $d->call('act', { action => 'edit', id => 'N-000001', if_rev => 5, params => { text => 'x' } });
is($e->{error}{code}, -32003, 'a stale if_rev gives -32003');
$r = $d->ok_call('act', { action => 'edit', id => 'N-000001', if_rev => 1, params => { text => 'second' } });
is($r->{record}{rev}, 2, 'a matching if_rev writes rev 2');

# A refusal, a script error, an unknown action, an unknown record.
$e = $d->call('act', { action => 'close', id => 'N-000001', params => { refuse => JSON::PP::true } });
is($e->{error}{code}, -32004, 'a rule refusal gives -32004');
is_deeply($e->{error}{data}{reasons}, [ { ja => '拒否します', en => 'refused as asked' } ], 'with its reasons in both languages');
$e = $d->call('act', { action => 'close', id => 'N-000001', params => { crash => JSON::PP::true } });
is($e->{error}{code}, -32005, 'a script error gives -32005');
like($e->{error}{message}, qr{mini/main\.lua:\d+: crash as asked}, 'naming file:line');
is($d->ok_call('record.get', { id => 'N-000001' })->{rev}, 2, 'nothing was written by the failures');
$e = $d->call('act', { action => 'fly', id => 'N-000001' });
is($e->{error}{code}, -32602, 'an unknown action gives -32602');
$e = $d->call('act', { action => 'close', id => 'N-424242' });
is($e->{error}{code}, -32002, 'an unknown record gives -32002');

# invalid() in an action names the field; evaluate() runs the declared checks.
$e = $d->call('act', { action => 'touch', id => 'N-000001', params => { bad => 1 } });
is($e->{error}{code}, -32602, 'invalid() in an action gives -32602');
is($e->{error}{data}{field}, 'bad', 'naming the field');
$r = $d->ok_call('act', { action => 'touch', id => 'N-000001' });
is($r->{record}{data}{touched}, '2024-01-01', 'evaluate() passes inside the window; date() normalises 和暦');

# A state-changing action with an event.
$r = $d->ok_call('act', { action => 'close', id => 'N-000001', params => { why => 'done' } });
is($r->{record}{state}, 'closed', 'close moves to closed');
is_deeply([ map { $_->{type} } @{ $r->{events} } ], [ 'closed', 'state' ], 'events: the rule\'s and the state change');
$e = $d->call('act', { action => 'close', id => 'N-000001' });
is($e->{error}{code}, -32004, 'an action from a state it does not allow is refused');
like($e->{error}{data}{reasons}[0]{en}, qr/not allowed in state `closed`/, 'saying which state');

# Listing and paging.
$d->ok_call('act', { action => 'create', params => { text => "n$_" } }) for 1 .. 25;
my $l = $d->ok_call('record.list', { kind => 'note', state => 'open', limit => 10 });
is(scalar @{ $l->{records} }, 10, 'a page of 10');
my @all = @{ $l->{records} };
while ($l->{next}) {
	$l = $d->ok_call('record.list', { kind => 'note', state => 'open', limit => 10, after => $l->{next} });
	push @all, @{ $l->{records} };
}
is(scalar @all, 25, 'paging with next sees all 25 open notes once');
is($d->ok_call('status')->{records}{note}{open}, 25, 'status counts records by kind and state');

# eval with an id, with an inline record, with at.
my $v = $d->ok_call('eval', { id => 'N-000002' });
is($v->{decision}, 'eligible', 'eval of a stored record');
is_deeply($v->{measures_in_force}, ['window'], 'measures in force now');
$v = $d->ok_call('eval', { record => { text => 'draft' }, at => '令和7年1月1日' });
is($v->{decision}, 'ineligible', 'eval of an inline record at a 和暦 date after the window');
is($v->{checks}[0]{reason}{en}, 'outside the window', 'with the check\'s reason');

# A view, in JSON and CSV.
my $vw = $d->ok_call('view', { name => 'open-notes' });
is($vw->{count}, 25, 'the view lists the open notes');
my $csv = $d->ok_call('view', { name => 'open-notes', format => 'csv' });
like($csv, qr/^\x{feff}本文 \(Text\)\r\n/, 'CSV starts with a BOM and a bilingual header');
$e = $d->call('view', { name => 'nope' });
is($e->{error}{code}, -32602, 'an unknown view gives -32602');

# History and the audit chain.
my $h = $d->ok_call('history', { id => 'N-000001' });
my @done = grep { $_->{outcome} eq 'ok' } @{ $h->{entries} };
is(scalar @done, 4, 'four writes of N-000001 in its history');
is_deeply([ map { $_->{action} } @done ], [qw(create edit touch close)], 'oldest first');
is($done[0]{peer}{user}, scalar(getpwuid($<)), 'each names who did it');
is($done[1]{rev_before}, 1, 'and the revs before');
is($done[1]{rev_after}, 2, 'and after');
like($done[1]{rules_version}, qr/^[0-9a-f]{64}$/, 'and the rules version that decided it');
is_deeply([ map { $_->{outcome} } grep { $_->{outcome} ne 'ok' } @{ $h->{entries} } ],
	  [qw(conflict refused error invalid refused)], 'refused attempts are in the history too');
my ($ref) = grep { $_->{outcome} eq 'refused' } @{ $h->{entries} };
is($ref->{reasons}[0]{en}, 'refused as asked', 'with their reasons');
my $av = $d->ok_call('audit.verify');
ok($av->{ok}, 'the audit chain verifies');
is($av->{entries}, 36, 'every write, refused attempt and the rules activation at start has its entry');
done_testing;
