#!/usr/bin/perl
# `liuctl rules status` lists the pack's kinds and roles, and its actions and
# views in the order the pack declares them, every time.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;

my $d = Liud::start_daemon(clock => '2025-06-01T12:00:00+09:00', rules => 'rules/fee-waiver');
my $ctl = Liud::bin_dir() . "/liuctl --socket $d->{sock}";
my $out = `$ctl rules status 2>&1`;
is($?, 0, 'liuctl rules status');
like($out, qr/^KIND\s+STATES\s+ID PREFIX\s+TITLE\nwaiver\s+submitted, granted/m, 'the kinds, with their states');
like($out, qr/^ROLE\s+TITLE\s+MAY CALL\napplicant_office\s+.*\nreviewer\s/m, 'the roles, with what each may call');
my @acts = $out =~ /^(apply|amend|withdraw|grant|reject)\s/mg;
is("@acts", 'apply amend withdraw grant reject', 'the actions in the order the pack declares them');
# The order does not depend on the run: the same after a restart.
$d->stop;
$d->start;
is(`$ctl rules status 2>&1` =~ s/^(loaded_at|stats):.*\n//mgr, $out =~ s/^(loaded_at|stats):.*\n//mgr,
   'the same text after a restart');
$d->stop;
done_testing;
