#!/usr/bin/perl
# A backup is complete or absent: the copy is written under a temporary name,
# made durable, opened read only and its audit chain verified, and only then
# renamed to data.mdb; it is 0600 whatever the umask.  A daemon killed -9 in
# the middle of a backup leaves no data.mdb that a daemon refuses.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

umask 022;
my $tmp = tempdir('liud-bk-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $clock = '2024-06-01T12:00:00+09:00';
my $d = Liud::start_daemon(clock => $clock, rules => 'tests/packs/mini');
# Text that does not compress, so that the copy is large enough to take a while.
srand(7);
my @abc = ('a' .. 'z', 'A' .. 'Z', 0 .. 9);
sub noise { join '', map { $abc[rand @abc] } 1 .. $_[0] }
for my $batch (1 .. 16) {
	my @rows = map { { text => noise(3000) } } 1 .. 300;
	$d->ok_call('import', { action => 'create', rows => \@rows });
}
my $audit = $d->ok_call('audit.verify');

# --- a backup under umask 022 -----------------------------------------------------
my $b = $d->ok_call('backup', { path => "$tmp/b1" });
my $mode = (stat "$tmp/b1/data.mdb")[2] & 07777;
is(sprintf('%04o', $mode), '0600', 'the copy is 0600 under umask 022');
is($b->{verified}{audit_entries}, $audit->{entries},
   "the reply says the copy's audit chain was verified ($b->{verified}{audit_entries} entries)");
is($b->{verified}{audit_head}, $audit->{head}, "and names the copy's head");
opendir my $dh, "$tmp/b1" or die;
my @left = sort grep { !/^\.\.?\z/ } readdir $dh;
is("@left", 'data.mdb', 'the folder holds data.mdb only: no partial name, no lock file');
diag("backup: $b->{bytes} bytes in $b->{ms} ms");

# --- a daemon killed -9 while it copies -----------------------------------------------
# Each round starts a backup and kills the daemon at a different point of it.
my ($complete, $partial) = (0, 0);
for my $round (0 .. 5) {
	$d->start unless $d->alive;
	my $dir = "$tmp/k$round";
	my $s = $d->connect;
	print $s json()->encode({ jsonrpc => '2.0', id => 1, method => 'backup',
				    params => { path => $dir } }), "\n";
	my $t0 = time;
	sleep 0.001 until -e "$dir/data.mdb.partial" || -e "$dir/data.mdb" || time - $t0 > 5;
	sleep($b->{ms} / 1000 * $round / 6);
	$d->stop('KILL');
	close $s;
	next unless -e "$dir/data.mdb";
	$complete++;
	my $x = Liud::start_daemon(clock => $clock, rules => 'tests/packs/mini', args => [ '--db', $dir ]);
	ok($x->alive, "round $round: the data.mdb left by a killed backup is complete: a daemon starts on it")
		or diag($x->log_text);
	$x->stop if $x->alive;
}
$d->start unless $d->alive;
diag("killed during a backup: $complete of 6 left a data.mdb, each complete");
ok($d->ok_call('audit.verify')->{ok}, 'the live database is untouched');
$d->stop;
done_testing();
