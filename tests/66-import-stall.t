#!/usr/bin/perl
# An import of 100,000 rows never stalls other clients for seconds: the
# rows go through the pack in slices, and the write of all of them (their
# audit entries sealed, their records encoded, the transaction built) is
# prepared in slices too, sealed off the loop (the request line decoded and
# the audit entries sealed on workers, the big reply's versions freed there).  The import stays one durable
# transaction, acknowledged when it is durable, and the audit chain holds.
# Its end: the versions made visible in one step and the reply of 100,000
# ids encoded in slices (the daemon's log says so).
# Uses the pack tests/packs/slice.  Latencies go to diag; only a stall of a
# second (4 s under the sanitizers) fails.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use IO::Select;
use Time::HiRes qw(time sleep);

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
my $J = Liud::json();
my $SLOW = $ENV{LIUD_SAN} || $ENV{LIUD_VALGRIND} ? 4 : 1;
my $ROWS = 100000;

# One status on its own connection: its latency in seconds (10 when it got
# no answer in 10 s).
sub status_latency {
	my $d = shift;
	my $t0 = time;
	my $s = $d->connect;
	print $s $J->encode({ jsonrpc => '2.0', id => 1, method => 'status' }), "\n";
	my $sel = IO::Select->new($s);
	my $buf = '';
	while ($buf !~ /\n/) {
		last unless $sel->can_read(10 - (time - $t0));
		last unless sysread($s, $buf, 65536, length $buf);
	}
	close $s;
	return $buf =~ /\n/ ? time - $t0 : 10;
}

my $dir = tempdir('liud-import-stall-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $cf, '>', "$dir/liud.conf" or die $!;
print $cf "limits = { request_bytes = 16777216 }  -- room for 100,000 rows in one request\n";
close $cf;
my $d = Liud::start_daemon(dir => $dir, rules => 'tests/packs/slice', clock => '2024-06-01',
			   conf => "$dir/liud.conf");

my @rows = map { { n => $_, text => "row $_" } } 1 .. $ROWS;
my $s = $d->connect;
print $s $J->encode({ jsonrpc => '2.0', id => 8, method => 'import',
		      params => { action => 'create', rows => \@rows } }), "\n";
my ($sel, $t0, @l, @acts) = (IO::Select->new($s), time);
while (!$sel->can_read(0) && time - $t0 < 120) {
	push @l, status_latency($d);
	# Now and then a write of its own: one that comes while the import's
	# audit entries are sealed waits for its turn in the chain, after them.
	push @acts, $d->call('act', { action => 'create', params => { n => -1, text => 'beside' } })
		if @l % 25 == 0;
	sleep 0.01;
}
my $line = <$s>;
close $s;
my $r = $line && $J->decode($line);
my @sorted = sort { $a <=> $b } @l;
diag(sprintf 'status during an import of %d rows (%.1f s): %d calls, p50 %.0f ms, max %.0f ms',
     $ROWS, time - $t0, scalar @l, 1000 * ($sorted[$#sorted / 2] // 0), 1000 * ($sorted[-1] // 0));
is($r && $r->{result}{created}, $ROWS, 'the import writes every row');
cmp_ok($sorted[-1] // 0, '<', 1 * $SLOW, 'no status waited a second during the import (answered while it is sealed)');

ok(@acts && !grep({ !$_->{result}{record} } @acts),
   sprintf('each of the %d writes made during the import is written', scalar @acts))
	or diag explain [ grep { $_->{error} } @acts ];
# The import's end holds nobody for long: its 100,000 versions become
# visible in one step (the batch's layer, built as its rows were written,
# linked; nothing moved one by one), and its reply of 100,000 ids is
# encoded in slices (16,384 values at most in one: 7 at least, however
# fast the machine), the same bytes a reply made whole would be.
my $log = $d->log_text;
like($log, qr/ledger: batch visible changes=$ROWS moved_to_overlay=0\b/,
     'the 100,000 versions made visible in one step, none moved into the overlay');
my ($bytes, $slices) = $log =~ /rpc: import replied in slices reply_bytes=(\d+) slices=(\d+)/;
cmp_ok($slices // 0, '>', 1, sprintf 'the reply of %d ids encoded in slices (%s)', $ROWS, $slices // 'none');
is($bytes, length($line), 'the reply line logged is the line received');
my @ids = @{ $r->{result}{ids} // [] };
ok(@ids == $ROWS && !grep({ !/^I-\d{6}$/ } @ids), 'the reply holds every id');

# An import refused whole lists every failure: 20,000 of them, its error
# line encoded in slices too (the same line rpc_error() would make).
my $before = () = $d->log_text =~ /import replied in slices/g;
my $e = $d->call('import', { action => 'create', rows => [ map { { text => "no number $_" } } 1 .. 20000 ] });
is($e->{error} && $e->{error}{data}{failed_count}, 20000, 'a refused import of 20,000 failing rows lists them all');
is(scalar @{ $e->{error}{data}{failed} // [] }, 20000, 'each with its reason');
my @lines = $d->log_text =~ /rpc: import replied in slices reply_bytes=\d+ slices=(\d+)/g;
ok(@lines > $before && $lines[-1] > 1, sprintf 'its error line encoded in slices (%s)', $lines[-1] // 'none');
ok($d->ok_call('audit.verify')->{ok}, 'the audit chain holds after it');
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
