#!/usr/bin/perl
# A damaged database file is refused at start with a message that names the
# file and what to do, never a death by signal: data.mdb cut short (as a
# disk that filled or a half-copied file leaves it), at several lengths.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Copy qw(copy);

my $d = Liud::start_daemon(clock => '2024-06-01T12:00:00+09:00', rules => 'tests/packs/mini');
my @rows = map { { text => "note $_ " . ('x' x 200) } } 1 .. 3000;
$d->ok_call('import', { action => 'create', rows => \@rows });
$d->stop;
my $db = "$d->{db}/data.mdb";
my $size = -s $db;
ok($size > 400_000, "a database of some size ($size bytes)");

my $tmp = tempdir('liud-dmg-XXXXXX', TMPDIR => 1, CLEANUP => 1);
for my $len (int($size * 0.9), int($size * 0.5), int($size * 0.01), 5000, 100, 0) {
	my $pct = sprintf('%.2f', 100 * $len / $size);
	my $dir = "$tmp/cut$len";
	mkdir $dir;
	copy($db, "$dir/data.mdb") or die;
	truncate("$dir/data.mdb", $len) or die;
	my $x = Liud::start_daemon(clock => '2024-06-01T12:00:00+09:00', rules => 'tests/packs/mini',
				   args => [ '--db', $dir ], expect_exit => 1);
	is($x->{signal}, 0, "data.mdb cut to $len bytes ($pct %): no death by signal");
	is($x->{exit}, 1, "the daemon refuses to start (exit 1)");
	like($x->log_text, qr/\Q$dir\E\/data\.mdb/, 'the log names the file');
	like($x->log_text, qr/restore .*backup/i, 'and says to restore a backup');
}
done_testing();
