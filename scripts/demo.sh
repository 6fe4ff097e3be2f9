#!/bin/sh
# make demo — the ISMAP-LIU special measure end to end, with a test clock:
# applications that pass and fail R1–R4, the explanations, confirmation, the
# service list, incentives (once per service: withdrawn and re-applied, a
# service's ① stays used), then the deadline (2025-03-31 24:00 JST) crossed
# live: enforcement, the list of services with no ISMAP-LIU filing recorded
# within the period (view pledge-unfulfilled), and what is refused after.
#
# Uses a private socket and database under a temporary folder; leaves nothing.
set -eu
cd "$(dirname "$0")/.."
BIN=${LIUD_BIN:-bin}
DIR=$(mktemp -d /tmp/liud-demo-XXXXXX)
SOCK="$DIR/liud.sock"
trap 'kill "${PID:-}" 2>/dev/null; wait "${PID:-}" 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM

# Headings in bold on a terminal only: a pipe or a file gets plain text, no
# escape sequences (NO_COLOR turns them off on a terminal too).
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
	say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	say() { printf '\n== %s\n' "$*"; }
fi
ctl() { printf '$ liuctl %s\n' "$*"; "$BIN/liuctl" --socket "$SOCK" "$@" || true; }
quiet() { "$BIN/liuctl" --socket "$SOCK" "$@" >/dev/null; }

# Applications: the example (eligible), and variants that each miss something.
mk() { # mk NAME PERL-EXPRESSION-ON-$a
	perl -Mutf8 -MJSON::PP -e '
		my $j = JSON::PP->new->utf8->canonical;
		local $/; open my $f, "<", "scripts/examples/app.json" or die; my $a = $j->decode(<$f>);
		'"$2"';
		print $j->encode($a);' > "$DIR/$1.json"
}
mk a '$a->{service_name} = "クラウド会計 Cloud Ledger"; $a->{provider_name} = "株式会社あおぞら"; $a->{provider_corporate_number} = "6010001000001"'
mk b '$a->{service_name} = "電子契約 e-Sign"; $a->{provider_name} = "さくらテック株式会社"; $a->{provider_corporate_number} = "5010001000002";
      $a->{impact_assessment} = { assessor => "独立行政法人情報処理推進機構", assessor_type => "独立行政法人",
                                  route => "consultation_desk", result => "low", assessed_on => "令和5年7月3日" }'
mk c '$a->{service_name} = "人事労務 HR Flow"; $a->{provider_name} = "みどり情報株式会社"; $a->{provider_corporate_number} = "4010001000003";
      $a->{impact_assessment}{result} = "moderate"'
mk d '$a->{service_name} = "Web会議 MeetUp"; $a->{provider_name} = "株式会社つばさ"; $a->{provider_corporate_number} = "3010001000004";
      delete $a->{statement}{controls}{"6.1.3.3.PB"}; delete $a->{statement}{controls}{"9.2.3.11.PB"}'
mk e '$a->{service_name} = "文書管理 DocBox"; $a->{provider_name} = "はなまるソフト株式会社"; $a->{provider_corporate_number} = "2010001000005";
      $a->{impact_assessment} = { assessor => "指定法人X", assessor_type => "designated_corporation",
                                  route => "agency", result => "low", assessed_on => "2023-05-18" }'
mk f '$a->{service_name} = "チャット ChatHub"; $a->{provider_name} = "株式会社ほし"; $a->{provider_corporate_number} = "1010001000006";
      delete $a->{pledge}'

say "Start liud with a test clock: 2025-03-31 10:00 JST, the last day of the period"
"$BIN/liud" --socket "$SOCK" --db "$DIR/db" --rules rules/ismap-liu \
	--test-clock 2025-03-31T10:00:00+09:00 --log-level warn 2>"$DIR/liud.log" &
PID=$!
# A first start runs the pack's own tests before it listens: wait for the
# socket while the daemon lives, up to a minute on a busy machine.
for _ in $(seq 600); do
	[ -S "$SOCK" ] && break
	kill -0 "$PID" 2>/dev/null || { cat "$DIR/liud.log" >&2; echo "demo: liud did not start" >&2; exit 1; }
	sleep 0.1
done
ctl status

say "The secretariat registers six applications (事務局が申請を登録)"
for n in a b c d e f; do quiet act submit --params "@$DIR/$n.json"; done
ctl record list

say "Why each one is or is not eligible (適用要件 R1–R4 の判定と理由)"
ctl eval LIU-000001
ctl eval LIU-000003
ctl eval LIU-000004
ctl eval LIU-000005
ctl eval LIU-000006

say "Confirm the eligible ones; the others are refused with their reasons"
ctl act confirm LIU-000001
ctl act confirm LIU-000002
ctl act confirm LIU-000003

say "The special-measure service list (特別措置サービスリスト; agencies only)"
ctl view service-list
printf '$ liuctl view service-list --format csv | head -2\n'
"$BIN/liuctl" --socket "$SOCK" view service-list --format csv | head -2

say "LIU-000001 uses incentive ① (once only: a second use is refused)"
ctl act use_incentive LIU-000001 incentive=audit_scope used_on=2025-03-31
ctl act use_incentive LIU-000001 incentive=audit_scope used_on=2025-03-31

say "「一度に限り」 is per service: withdrawn and re-applied, its ① stays used"
ctl act withdraw LIU-000001 reason=申請内容の見直し
mk a2 '$a->{service_name} = "クラウド会計　ＣＬＯＵＤ　ＬＥＤＧＥＲ"; $a->{provider_name} = "株式会社あおぞら"; $a->{provider_corporate_number} = "6010001000001"'
ctl act submit --params "@$DIR/b.json"
ctl act submit --params "@$DIR/a2.json"
ctl act confirm LIU-000007
ctl eval LIU-000007
ctl act use_incentive LIU-000007 incentive=audit_scope used_on=2025-03-31

say "LIU-000007 files its ISMAP-LIU pre-application"
ctl act file_liu_application LIU-000007 type=pre_application filed_on=2025-03-31
ctl deadlines

say "Three seconds before the end of the period; the daemon crosses it live"
quiet clock set 2025-03-31T23:59:57+09:00
for i in 3 2 1; do printf '  %s\n' "$("$BIN/liuctl" --socket "$SOCK" --json status | perl -MJSON::PP -0ne 'print decode_json($_)->{clock}{now}')"; sleep 1; done
sleep 1.5
ctl status
ctl record list

say "After the period: no ISMAP-LIU filing recorded within the period (運用期間内の ISMAP-LIU 申請の記録なし)"
ctl view pledge-unfulfilled
ctl history LIU-000002

say "Temporary measures are over: incentive ② and new confirmations are refused"
ctl act use_incentive LIU-000002 incentive=internal_audit_report used_on=2025-04-01
ctl eval LIU-000002
ctl audit verify
say "Done. (The permanent measure ③, assessor eligibility, stays in force.)"
