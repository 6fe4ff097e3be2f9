-- ISMAP-LIU 登録促進のための特別措置 (notice of 令和5年5月19日: NISC, デジタル庁, 総務省, 経済産業省)
-- The pack's identity and the measures of the notice, with their periods.
--
-- Changing a period is a one-line edit here plus `liuctl rules reload`: the
-- daemon recomputes its schedule from these dates.  `from` is the first day in
-- force (00:00 JST); `till` is the last day in force (JST, inclusive).

pack {
  name = "ismap-liu",
  version = "2023-05-19",
  title = { ja = "ISMAP-LIU 登録促進のための特別措置", en = "ISMAP-LIU registration special measure" },
  -- Every time this pack compares is a date (JST) or a measure's start or
  -- end: eval gives the same answer all day between two of those, so the
  -- daemon may keep its answer (`liud test` checks that this holds).
  eval_by_date = true,
}

-- The handling marking of every list and export of the measure's records:
-- shared with government bodies only, never published.
HANDLING_MARKING = { ja = "政府機関等限りの取扱いとし、対外公表はいたしません",
                     en = "For government bodies only; not to be made public" }

-- Who may do what (liud.conf gives the roles to users and groups); `methods`
-- are the core's methods each may call.
role "policy" { title = { ja = "制度所管（政策担当）", en = "policy officer" },
  methods = { "record.get", "record.list", "eval", "history", "deadlines",
              "rules.check", "rules.diff", "rules.reload", "rules.history", "rules.rollback" } }
role "secretariat" { title = { ja = "ISMAP 事務局", en = "ISMAP secretariat" },
  methods = { "record.get", "record.list", "eval", "history", "deadlines" } }
role "agency" { title = { ja = "政府機関等", en = "government agency" } }

-- 運用期間: 令和5年5月19日から令和7年3月末まで (2023-05-19T00:00+09:00 <= t <
-- 2025-04-01T00:00+09:00).  ① and ② last as long ("運用期間内に1回限り").
local PERIOD_FROM = "2023-05-19"   -- 令和5年5月19日
local PERIOD_TILL = "2025-03-31"   -- 令和7年3月31日 (令和7年3月末), last day in force

-- 記録の猶予 (pack decision; the notice is silent): a use of ① ② or an ISMAP-LIU
-- filing dated within the period may still be recorded this many days after
-- the period's last day (use_incentive, file_liu_application); not after.
LATE_RECORDING_DAYS = 90

-- 特別措置（運用期間）: applications are taken and confirmed, and the service list
-- is kept, only while this is in force.
measure "special-measure" {
  title = { ja = "特別措置（運用期間）", en = "Special measure (operating period)" },
  temporary = true, from = PERIOD_FROM, till = PERIOD_TILL,
}

-- インセンティブ①【特別措置限り】 運用期間内に1回限り: ISMAP-LIU の外部監査を整備状況評価及び
-- 最小限度の運用状況評価に限ることができる.
measure "incentive-1" {
  title = { ja = "外部監査の対象範囲の特例（整備状況評価及び最小限度の運用状況評価）",
            en = "Reduced external-audit scope (design assessment + minimal operating assessment)" },
  temporary = true, from = PERIOD_FROM, till = PERIOD_TILL,
}

-- インセンティブ②【特別措置限り】 運用期間内に1回限り: 内部監査報告書の提出を免除できる.
measure "incentive-2" {
  title = { ja = "内部監査報告書の提出免除", en = "Exemption from submitting the internal-audit report" },
  temporary = true, from = PERIOD_FROM, till = PERIOD_TILL,
}

-- インセンティブ③【恒久措置】: 業務・情報の影響度評価を実施できる機関を、国の行政機関から
-- 国の行政機関・独立行政法人・指定法人に広げる（令和5年5月19日から、終期なし）.
-- `allowed` from `from` on, `allowed_before` to assessments made before it (R2).
measure "assessor-eligibility" {
  title = { ja = "影響度評価の実施機関の拡大", en = "Wider set of bodies allowed to assess impact" },
  from = "2023-05-19",
  allowed = { "national_agency", "independent_agency", "designated_corporation" },
  allowed_before = { "national_agency" },
}

-- The bodies, in the words of the notice; their names are accepted for the
-- codes, and stored as the code.
ASSESSOR_TYPES = {
  national_agency        = { ja = "国の行政機関", en = "national administrative organ" },
  independent_agency     = { ja = "独立行政法人", en = "incorporated administrative agency" },
  designated_corporation = { ja = "指定法人", en = "designated corporation" },
}
ASSESSOR_ORDER = { "national_agency", "independent_agency", "designated_corporation" }

-- Who gave the impact assessment (通知 3): a 政府機関等 that uses or procures the
-- SaaS, or, where there is none, a body found through the ISMAP-LIU 相談窓口.
ASSESSMENT_ROUTES = {
  agency = { ja = "当該 SaaS を利用・調達する政府機関等", en = "a government body that uses or procures the SaaS",
             aliases = { "利用・調達する政府機関等", "当該SaaSを利用・調達する政府機関等", "政府機関等" } },
  consultation_desk = { ja = "ISMAP-LIU 相談窓口", en = "the ISMAP-LIU consultation desk",
                        aliases = { "ISMAP-LIU 相談窓口", "相談窓口" } },
}
ASSESSMENT_ROUTE_ORDER = { "agency", "consultation_desk" }

-- The incentives ① and ② by the name used in `use_incentive`, and their measures.
INCENTIVES = {
  { name = "audit_scope", measure = "incentive-1",
    label = { ja = "インセンティブ①（外部監査の対象範囲）", en = "incentive ① (audit scope)" } },
  { name = "internal_audit_report", measure = "incentive-2",
    label = { ja = "インセンティブ②（内部監査報告書の提出免除）", en = "incentive ② (internal-audit report)" } },
}

-- ISMAP-LIU itself started on 2022-11-01: no ISMAP-LIU filing can be older.
LIU_START = "2022-11-01"
