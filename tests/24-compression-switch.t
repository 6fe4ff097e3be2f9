#!/usr/bin/perl
# storage.dict_records: how many records the database holds before the
# daemon trains its compression dictionary (store.h); 0 never trains one
# (plain zstd: what `make bench-mechanisms` measures the dictionary against).
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);

my $CLOCK = '2024-06-01T10:00:00+09:00';
my $tmp = tempdir('liud-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# Submits n applications with different names in one pipeline; returns how
# many were accepted (the replies are not decoded).
my $APP = json()->encode({ jsonrpc => '2.0', id => 1, method => 'act', params => {
	action => 'submit', params => Liud::good_app(service_name => 'NAME') } });
sub submit {
	my ($d, $n) = @_;
	my $s = $d->connect;
	print $s join('', map { my $l = $APP; $l =~ s/"NAME"/json()->encode("サービス $_")/e; "$l\n" } 1 .. $n);
	shutdown($s, 1);
	my $ok = 0;
	while (my $l = <$s>) { $ok++ if $l =~ /"result":/ }
	return $ok;
}
sub daemon_with {
	my ($name, $setting) = @_;
	open my $f, '>', "$tmp/$name.conf" or die;
	print $f "storage = { $setting }\n";
	close $f;
	return Liud::start_daemon(clock => $CLOCK, conf => "$tmp/$name.conf");
}
sub dictionary_after {
	my ($d) = @_;
	my $st;
	for (1 .. 50) {
		$st = $d->ok_call('status');
		last if $st->{storage}{dictionary};
		sleep 0.1;
	}
	return $st->{storage}{dictionary};
}

# A lower count: trained once the database holds that many.
my $d = daemon_with('low', 'dict_records = 150');
is(submit($d, 200), 200, '200 applications submitted');
my $dict = dictionary_after($d);
ok($dict && $dict->{id} > 32768, 'with dict_records = 150, a dictionary is trained from 200 records');
$d->stop;

# 0: none, however many records there are; the records are still compressed.
$d = daemon_with('off', 'dict_records = 0');
is(submit($d, 1100), 1100, '1,100 applications submitted');
is(dictionary_after($d), undef, 'with dict_records = 0, no dictionary after 1,100 records');
unlike($d->log_text, qr/compression dictionary/, 'and the log says none was trained or tried');
$d->stop;

# The setting is checked like the others.
open my $f, '>', "$tmp/bad.conf" or die;
print $f "storage = { dict_records = -1 }\n";
close $f;
$d = Liud::start_daemon(clock => $CLOCK, conf => "$tmp/bad.conf", expect_exit => 1);
isnt($d->{exit} // 0, 0, 'a negative dict_records is refused at start');
like($d->log_text, qr/dict_records/, 'naming the setting');
done_testing;
