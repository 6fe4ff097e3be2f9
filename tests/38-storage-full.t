#!/usr/bin/perl
# Storage faults: the database on a small filesystem that fills up (a tmpfs
# made by the test), and a full LMDB map.  Writes get -32006 and change
# nothing; reads go on; nothing is corrupted; writes resume once there is room.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

plan skip_all => 'needs root to mount a small filesystem (CI runs as root)' if $> != 0;
my $mnt = tempdir('liud-full-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('mount', '-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', $mnt) == 0
	or plan skip_all => 'cannot mount a tmpfs here';
END { system('umount', '-l', $mnt) if $mnt }

# Room to free later: a filler file takes most of the space.
system('dd', 'if=/dev/zero', "of=$mnt/filler", 'bs=1M', 'count=3', 'status=none') == 0 or die;
my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini',
			   args => [ '--db', "$mnt/db" ]);
ok($d->alive, 'daemon up with its database on a 6 MiB filesystem');
my ($ok, $full, $other, $last_ok) = (0, 0, 0, undef);
for my $i (1 .. 5000) {
	my $r = $d->call('act', { action => 'create', params => { text => ('z' x 2000) . $i } });
	if ($r->{result}) { $ok++; $last_ok = $r->{result}{record}{id} }
	elsif ($r->{error}{code} == -32006) { $full++; last if $full >= 3 }
	else { $other++; diag(json->encode($r->{error})); last }
}
ok($ok > 100, "$ok writes fitted");
is($full, 3, 'then writes get -32006 (storage full)');
is($other, 0, 'and no other error');
my $r = $d->call('act', { action => 'create', params => { text => ('z' x 200000) } });
is($r->{error}{code}, -32006, 'a large write still does not fit');
like($r->{error}{message} // '', qr/nothing was changed/, 'saying nothing was changed');
ok($r->{error}{data}{ja} && $r->{error}{data}{en}, 'in both languages');
is($d->ok_call('record.get', { id => $last_ok })->{data}{text}, ('z' x 2000) . $ok, 'reads go on');
is($d->ok_call('status')->{records}{note}{open}, $ok, 'exactly the acknowledged writes are stored');
ok($d->ok_call('audit.verify')->{ok}, 'the audit chain is intact');

unlink "$mnt/filler";
$r = $d->call('act', { action => 'create', params => { text => 'after' } });
ok($r->{result}, 'writes resume once space is freed');
$d->stop;
$d->start;
is($d->ok_call('status')->{records}{note}{open}, $ok + 1, 'and a restart finds everything');
ok($d->ok_call('audit.verify')->{ok}, 'uncorrupted');
$d->stop;

# --- a full LMDB map ---------------------------------------------------------------
my $tmp = tempdir('liud-map-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $cf, '>', "$tmp/small.conf" or die;
print $cf "storage = { map_mib = 1, max_map_mib = 2 }\n";
close $cf;
my $m = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini', conf => "$tmp/small.conf",
			   args => [ '--db', "$tmp/db" ]);
($ok, $full) = (0, 0);
for my $i (1 .. 5000) {
	my $x = $m->call('act', { action => 'create', params => { text => ('m' x 3000) . $i } });
	if ($x->{result}) { $ok++ } elsif ($x->{error}{code} == -32006) { $full++; last } else { last }
}
ok($ok > 50, "$ok writes fitted in a map of at most 2 MiB (it grew once)");
is($full, 1, 'then -32006');
like($m->log_text, qr/store: map grown/, 'the map grew before giving up');
ok($m->ok_call('status'), 'reads go on');
ok($m->ok_call('audit.verify')->{ok}, 'nothing corrupted');
$m->stop;
# One write larger than twice the map: the map grows as often as it needs to,
# up to its ceiling, before the write is given up.
my $tmp2 = tempdir('liud-map2-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $gf, '>', "$tmp2/grow.conf" or die;
print $gf "storage = { map_mib = 1, max_map_mib = 64 }\nlimits = { request_bytes = 16777216 }\n";
close $gf;
my $g = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini', conf => "$tmp2/grow.conf",
			   args => [ '--db', "$tmp2/db" ]);
# Text that does not compress: the map must hold about 8 MiB.
srand(18);
my @abc = ('a' .. 'z', 'A' .. 'Z', '0' .. '9');
my $imp = $g->call('import', { action => 'create',
			       rows => [ map { { text => join('', map { $abc[rand @abc] } 1 .. 4000) } } 1 .. 2000 ] });
is($imp->{result}{created}, 2000, 'an import of 8 MiB into a map of 1 MiB is written')
	or diag(json->encode($imp->{error} // {}));
my @grown = $g->log_text =~ /store: map grown/g;
ok(@grown >= 2, 'the map grew several times for that one write (' . scalar(@grown) . ')');
ok($g->ok_call('audit.verify')->{ok}, 'the audit chain is intact');
$g->stop;
open $cf, '>', "$tmp/big.conf" or die;
print $cf "storage = { map_mib = 8, max_map_mib = 64 }\n";
close $cf;
$m->{opt}{conf} = "$tmp/big.conf";
$m->start;
ok($m->call('act', { action => 'create', params => { text => 'more' } })->{result},
   'with a larger map configured, writes resume');
is($m->ok_call('status')->{records}{note}{open}, $ok + 1, 'and every earlier write is there');
done_testing;
