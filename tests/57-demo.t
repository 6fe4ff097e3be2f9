#!/usr/bin/perl
# make demo, as a test: the walkthrough runs to the end and shows what it
# promises (eligible and ineligible applications, ① once per service across a
# withdrawal and a new record, the deadline crossed live, the
# pledge-unfulfilled list, a whole audit chain), and writes no terminal
# escape sequence into a pipe.
use strict;
use warnings;
use Test::More;
my $bin = $ENV{LIUD_BIN} // 'bin';
my $out = `LIUD_BIN=$bin sh scripts/demo.sh 2>&1`;
is($? >> 8, 0, 'the demo runs to the end');
like($out, qr/decision: eligible/, 'an eligible application is explained');
like($out, qr/R3\s+NO\s+.*6\.1\.3\.3\.PB、9\.2\.3\.11\.PB/, 'a missing B control is named');
like($out, qr/error -32004: refused by a rule: cannot confirm/, 'confirming an ineligible one is refused');
like($out, qr/refused by a rule: the service already has a live record, LIU-000002/, 'a second submission of a live service is refused, naming its record');
like($out, qr/audit_scope\s+no\s+2025-03-31/, 'withdrawn and re-applied, the service\'s ① stays used');
like($out, qr/already used by this service on 2025-03-31 \(once only; on record LIU-000001\)/,
     '... and a second use on the new record is refused, naming the record that used it');
like($out, qr/application: ended 2, lapsed 4, withdrawn 1/, 'the deadline is crossed live: 2 ended, 4 lapsed');
like($out, qr/No ISMAP-LIU filing recorded within the period.*: 1 row/, 'one service has no filing recorded within the period');
like($out, qr/ok: the audit chain holds/, 'the audit chain holds at the end');
unlike($out, qr/\e/, 'no escape sequence in the output of a pipe');
done_testing;
