#!/usr/bin/perl
# data.mdb cut short while the daemon runs: a read that touches a page past
# the file's end fails (an error reply, a log line naming the file and saying
# to restore a backup) and the daemon goes on; a write that does stops the
# daemon with exit status 1 and that message, nothing of it acknowledged.
# Never a death by SIGBUS.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

my $tmp = tempdir('liud-dl-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d = Liud::start_daemon(clock => '2024-06-01T12:00:00+09:00', rules => 'tests/packs/mini');
my @rows = map { { text => "note $_ " . ('x' x 200) } } 1 .. 3000;
my $ids = $d->ok_call('import', { action => 'create', rows => \@rows })->{ids};
my $db = "$d->{db}/data.mdb";
truncate($db, int((-s $db) / 2)) or die;

my $v = $d->call('audit.verify');
ok($v->{error}, 'a read of pages past the end (audit.verify): an error reply') or diag(Liud::json()->encode($v));
like($d->log_text, qr/store: \Q$db\E is damaged: a page the database uses lies past the file's end.*restore the last backup/,
     '... the log names the file and says to restore a backup');
my $v2 = $d->call('audit.verify');
ok($v2->{error}, 'the same read again: an error again (each fault is caught)');
my @g = map { $d->call('record.get', { id => $_ }) } @$ids[ map { $_ * 300 } 0 .. 9 ];
ok(!grep({ !$_->{result} && !$_->{error} } @g), 'record reads: each a record or an error reply');
my $b = $d->call('backup', { path => "$tmp/b" });
ok($b->{error}, 'a backup: an error') or diag(Liud::json()->encode($b));
ok(!-e "$tmp/b/data.mdb", '... and no copy is left');
ok($d->call('status')->{result}, 'status still answers');
my $w = eval { $d->call('act', { action => 'edit', id => $ids->[-1], params => { text => 'after the cut' } }) };
ok(!($w && $w->{result}), 'a write is not acknowledged');
waitpid($d->{pid}, 0);
my ($exit, $signal) = ($? >> 8, $? & 127);
$d->{pid} = undef;
is($signal, 0, '... the daemon does not die of a signal');
is($exit, 1, '... it stops with exit status 1');
like($d->log_text, qr/store: stopping: a write cannot go on on a damaged database file=\Q$db\E/, '... saying why');
done_testing();
