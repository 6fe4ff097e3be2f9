#!/usr/bin/perl
# A reload of a pack holding a big file does not hold other clients up once
# its check is done: the kept form of its files (a JSON text several times
# the file's size when the file is made of control bytes) is encoded on a
# worker, and only the store reads and the write's queueing are on the
# loop.  A client asking `status` every 10 ms is answered throughout the
# time between the end of the check and the activation (read from the
# daemon's log): none of its requests waits half that time.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use IO::Select;
use Time::HiRes qw(time sleep);
use Time::Local qw(timegm);

my $J = Liud::json();
my $MIB = 2;

my $dir = tempdir('liud-activation-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d = Liud::start_daemon(dir => $dir, rules => 'tests/packs/mini');

# The mini pack and a data file of control bytes: each is six bytes once
# escaped (\u0001), so encoding the kept form is work the size of 12 MiB.
my $pack = "$dir/big";
system('cp', '-r', 'tests/packs/mini', $pack) == 0 or die;
mkdir "$pack/data" or die;
open my $f, '>', "$pack/data/big.txt" or die;
print $f "\x01" x ($MIB * 1048576);
close $f;

# One status on its own connection: [sent, answered] (answered undef when
# no answer came in 10 s).
sub status_at {
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
	return [ $t0, $buf =~ /\n/ ? time : undef ];
}

my $s = $d->connect;
print $s $J->encode({ jsonrpc => '2.0', id => 7, method => 'rules.reload', params => { path => $pack } }), "\n";
my ($sel, $t0, @st) = (IO::Select->new($s), time);
while (!$sel->can_read(0) && time - $t0 < 60) {
	push @st, status_at();
	sleep 0.01;
}
my $line = <$s>;
close $s;
my $r = $line && $J->decode($line);
ok($r && $r->{result}{version}, 'the pack with the big file is activated')
	or diag explain $r;

# When the check ended and when the pack was activated, by the log.
sub log_time {
	my ($re) = @_;
	my ($l) = grep { /$re/ } split /\n/, $d->log_text;
	# The log's time, in the zone it is written in (JST by default).
	return undef unless $l && $l =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)(?:Z|([+-])(\d\d):(\d\d))/;
	my $off = defined $8 ? ($8 eq '-' ? -1 : 1) * ($9 * 3600 + $10 * 60) : 0;
	return timegm($6, $5, $4, $3, $2 - 1, $1) + $7 / 1000 - $off;
}
my $checked = log_time(qr/rules: check done dir=\Q$pack\E /);
my $activated = log_time(qr/rules: activated how=reload/);
ok(defined $checked && defined $activated, 'the log says when the check ended and when the pack was activated');
my $window = ($activated // 0) - ($checked // 0);
my @between = grep { defined $_->[1] && $_->[1] > $checked && $_->[1] < $activated } @st;
# The longest wait of a status sent meanwhile: encoded on the loop, the
# files held every client for most of the window (the commit after it is on
# a worker either way).
my ($worst) = sort { $b <=> $a } map { ($_->[1] // $_->[0] + 10) - $_->[0] }
	grep { $_->[0] >= $checked && $_->[0] < $activated } @st;
diag(sprintf '%d statuses, %d answered in the %.0f ms between the check and the activation; the longest wait meanwhile %.0f ms',
     scalar @st, scalar @between, 1000 * $window, 1000 * ($worst // 0));
cmp_ok(scalar @between, '>=', 3, 'statuses are answered while the activation is prepared');
cmp_ok($worst // 10, '<', $window / 2, 'none waits half the time the activation took (the files are encoded off the loop)');
ok($d->ok_call('audit.verify')->{ok}, 'the audit chain holds');
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
