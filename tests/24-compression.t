#!/usr/bin/perl
# Records compressed with a dictionary trained on the database's own records
# (core/compress.c, store.h): once there are 1,000 records the daemon trains one
# by itself and says so; records written after it name it, those written
# before read as they were; a restarted daemon and a backup read both; a
# database that lost its dictionary reports the records it cannot read,
# never wrong data.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ":utf8") for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;
use Time::HiRes qw(sleep);

my $TAMPER = ($ENV{LIUD_TOOLS} // 'build/rel/tests') . '/tamper';
my $CLOCK = '2024-06-01T10:00:00+09:00';
my $d = Liud::start_daemon(clock => $CLOCK);

is($d->ok_call('status')->{storage}{dictionary}, undef, 'a new database has no dictionary');

# Submits applications named @names in one pipeline; returns the new ids.
# The request is encoded once and the replies are not decoded (JSON::PP
# would spend seconds on a thousand 5 KB records).
my $APP = json()->encode({ jsonrpc => '2.0', id => 1, method => 'act', params => {
	action => 'submit', params => Liud::good_app(service_name => 'NAME', planned_liu_application => 'MONTH') } });
sub submit {
	my ($dd, @names) = @_;
	my $s = $dd->connect;
	my $i = 0;
	print $s join('', map { my $l = $APP; my $m = sprintf('2024-%02d', 7 + $i++ % 6);
				$l =~ s/"NAME"/json()->encode($_)/e; $l =~ s/"MONTH"/"$m"/; "$l\n" } @names);
	shutdown($s, 1);
	my @ids;
	while (my $l = <$s>) { push @ids, $1 if $l =~ /"result":\{"record":\{.*?"id":"(LIU-\d+)"/ }
	return @ids;
}

# 1,100 applications with different names, as real ones.
my @ids = submit($d, map { "サービス $_" } 1 .. 1100);
is(scalar @ids, 1100, '1,100 applications submitted');

my $st;
for (1 .. 100) {
	$st = $d->ok_call('status');
	last if $st->{storage}{dictionary};
	sleep 0.1;
}
my $dict = $st->{storage}{dictionary};
ok($dict && $dict->{id} >= 32769, 'a dictionary was trained' . ($dict ? " (id $dict->{id}, $dict->{bytes} bytes)" : ''));
ok($dict && $dict->{bytes} > 1000 && $dict->{bytes} <= 32768, 'of a useful size, at most 32 KiB');
like($d->log_text, qr/commit: compression dictionary trained samples=\d+ bytes=\d+ ms=\d+/, 'the log says it was trained');
like($d->log_text, qr/store: compression dictionary in use id=$dict->{id}/, 'and when it came into use');
my @trained = $d->log_text =~ /dictionary trained/g;
is(scalar @trained, 1, 'once');
my $ctl = `${\ bin_dir()}/liuctl --socket $d->{sock} status`;
like($ctl, qr/records compressed with dictionary $dict->{id} \(/, 'liuctl status shows it');

# Written after it: new applications, an amended old one.
my @after = submit($d, map { "後 $_" } 1 .. 20);
is(scalar @after, 20, '20 more after the dictionary');
my $old = $ids[0];
my $am = $d->call('act', { action => 'amend', id => $old, params => { planned_liu_application => '2024-12' } });
ok($am->{result}, 'an application from before amended after');

my %before;
$before{$_} = $d->ok_call('record.get', { id => $_ }) for @ids[0 .. 49], @after;
is($before{$old}{data}{planned_liu_application}, '2024-12', 'the amendment reads back');
is($before{$after[0]}{data}{service_name}, '後 1', 'a new record reads back');
is($before{$ids[10]}{data}{service_name}, 'サービス 11', 'an old one too');
my ($listed, $after) = (0, undef);
do {
	my $page = $d->ok_call('record.list', { limit => 1000, defined $after ? (after => $after) : () });
	$listed += @{ $page->{records} };
	$after = $page->{next};
} while (defined $after);
is($listed, 1120, 'every record lists');
$d->stop;

# How they are stored.
sub stored { my $f = `$TAMPER $d->{db} frame $_[0]`; chomp $f; return $f }
like(stored($after[0]), qr/^frame $dict->{id}$/, "a record written after names the dictionary (${\ stored($after[0])})");
like(stored($old), qr/^frame $dict->{id}$/, 'so does the amended one');
like(stored($ids[1]), qr/^frame 0$/, 'one written before names none');

# A restarted daemon, and a backup, read both kinds.
my $r = Liud::start_daemon(clock => $CLOCK, dir => $d->{dir});
is_deeply($r->ok_call('status')->{storage}{dictionary}, $dict, 'after a restart: the same dictionary');
is_deeply($r->ok_call('record.get', { id => $_ }), $before{$_}, "after a restart: $_ reads the same")
	for $old, $ids[1], $after[0], $after[19];
my $bak = "$d->{dir}/backup";
ok($r->ok_call('backup', { path => $bak })->{bytes} > 0, 'a backup');
$r->stop;
my $b = Liud::start_daemon(clock => $CLOCK, args => [ '--db', $bak ]);
is_deeply($b->ok_call('record.get', { id => $_ }), $before{$_}, "the backup's daemon reads $_") for $old, $after[0];
$b->stop;

# Lost: a database without its dictionary.
is(system($TAMPER, $bak, 'nodict'), 0, 'the dictionary removed from the backup');
my $l = Liud::start_daemon(clock => $CLOCK, args => [ '--db', $bak ]);
is_deeply($l->ok_call('record.get', { id => $ids[1] }), $before{ $ids[1] }, 'a record from before still reads');
my $e = $l->call('record.get', { id => $after[0] });
ok($e->{error}, 'one that names the lost dictionary is an error, not wrong data');
like($l->log_text, qr/does not decompress id=\Q$after[0]\E .*reason="it names compression dictionary $dict->{id}, which the database does not have"/,
     'the log names the record and the dictionary');
is($l->ok_call('status')->{storage}{dictionary}, undef, 'status shows none');
my $n = $l->call('act', { action => 'submit', params => Liud::good_app(service_name => '新') });
ok($n->{result}, 'new writes go on');
my $nd;
for (1 .. 100) {
	last if $nd = $l->ok_call('status')->{storage}{dictionary};
	sleep 0.1;
}
ok($nd && $nd->{id} != $dict->{id}, 'a new dictionary is trained, under another id');
my $e2 = $l->call('record.get', { id => $after[0] });
ok($e2->{error}, 'the lost one is not mistaken for it');
$l->stop;

done_testing;
