#!/usr/bin/perl
# The core's identities (kind{identity}) with a pack of no notice
# (tests/packs/ident): its scenarios through `liud test`, then a daemon where a
# deadline, not an action, takes the live record out of its live states.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
my $bin = Liud::bin_dir();
my $out = `$bin/liud test tests/packs/ident 2>&1`;
is($? >> 8, 0, 'the identity pack\'s scenarios pass') or diag $out;

my $d = Liud::start_daemon(rules => 'tests/packs/ident', clock => '2024-06-30T23:59:00+09:00');
my $a = $d->ok_call('act', { action => 'join', params => { number => '5', name => 'Ken' } })->{record}{id};
my $r = $d->call('act', { action => 'join', params => { number => '５', name => 'ken' } });
is($r->{error}{code}, -32004, 'a second live record of the person is refused');
$d->ok_call('clock.set', { now => '2024-07-01T00:00:01+09:00' });
$d->ok_call('enforce', {});
is($d->ok_call('record.get', { id => $a })->{state}, 'lapsed', 'the deadline moved the live record out of its live states');
my $b = $d->call('act', { action => 'join', params => { number => '5', name => 'Ken' } });
ok($b->{result}, 'the person may then have another live record') or diag explain $b;
$d->stop;
done_testing;
