-- The notice read clause by clause (「ISMAP-LIU 登録促進のための特別措置について」,
-- 令和5年5月19日): each test quotes the clause it enforces, or, where the
-- notice leaves a point open, states the pack's decision.  The README's clause
-- table names each of them.

-- ---------------------------------------------------------------- one service (items 1–3)
-- インセンティブ①②: 「運用期間内に一度に限り」; 特別措置サービスリスト: a service is
-- listed once.  A service is its 法人番号 and its name, normalised for width,
-- spaces and case (10-application.lua, kind{identity}): its incentive uses are
-- the service's, it has one live record, and what makes it never changes.

-- The same service as good_app(), written otherwise: full-width, spaced, cased.
local function same_service(over)
  local a = good_app(over)
  a.service_name = "クラウド会計ＳａａＳ　"
  a.provider_name = "株式会社 テスト"
  return a
end

scenario "①「一度に限り」 is the service's: withdrawn and re-applied, its ① stays used" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "a", params = good_app() },
  { act = "confirm", as = "secretariat", id = "a" },
  { at = "2024-02-01", act = "use_incentive", as = "secretariat", id = "a",
    params = { incentive = "audit_scope", used_on = "2024-02-01" } },
  { at = "2024-03-01", act = "withdraw", as = "secretariat", id = "a", state = "withdrawn" },
  { act = "submit", as = "secretariat", id = "b", params = same_service(), state = "submitted",
    check = function (rec)
      return expect_eq(rec.data.incentives.audit_scope.used_on, "2024-02-01")
         and expect_eq(rec.data.incentives.audit_scope.record, "a")
    end },
  { act = "confirm", as = "secretariat", id = "b", state = "confirmed",
    check = function (rec, ev)
      return expect_eq(ev.incentives.audit_scope.available, false)
         and expect_eq(ev.incentives.internal_audit_report.available, true)
    end },
  { act = "use_incentive", as = "secretariat", id = "b", params = { incentive = "audit_scope", used_on = "2024-03-01" },
    expect = "refused", reason = "は令和6年2月1日（2024年2月1日）に利用済みです（1回限り。記録 a で利用）" },
  { act = "use_incentive", as = "secretariat", id = "b", params = { incentive = "internal_audit_report", used_on = "2024-03-01" } },
  -- and a third record of the service, after another withdrawal, has both used
  { act = "withdraw", as = "secretariat", id = "b" },
  { act = "submit", as = "secretariat", id = "c", params = good_app(),
    check = function (rec)
      return expect_eq(rec.data.incentives.audit_scope.record, "a")
         and expect_eq(rec.data.incentives.internal_audit_report.record, "b")
    end },
}
scenario "①「一度に限り」: a rejected service re-applying does not get its uses back" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "a", params = good_app() },
  { act = "confirm", as = "secretariat", id = "a" },
  { act = "use_incentive", as = "secretariat", id = "a", params = { incentive = "internal_audit_report", used_on = "2024-01-01" } },
  { act = "reject", as = "secretariat", id = "a", params = { reason = "言明の誤り" } },
  { act = "submit", as = "secretariat", id = "b", params = good_app() },
  { act = "confirm", as = "secretariat", id = "b" },
  { act = "use_incentive", as = "secretariat", id = "b", params = { incentive = "internal_audit_report", used_on = "2024-01-02" },
    expect = "refused", reason = "already used by this service on 2024-01-01 (once only; on record a)" },
}
scenario "one service, one listing: a second submission of a live service is refused with the id of its record" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "a", params = good_app() },
  { act = "submit", as = "secretariat", params = same_service(), expect = "refused",
    reason = "このサービスには有効な記録 a があります" },
  { act = "confirm", as = "secretariat", id = "a" },
  { act = "submit", as = "secretariat", params = same_service { planned_liu_application = "2024-12" }, expect = "refused",
    reason = "the service already has a live record, a" },
  { view = "service-list", rows = 1 },
}
scenario "one service, one listing: another provider's service of the same name is another service" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "a", params = good_app() },
  { act = "confirm", as = "secretariat", id = "a" },
  { act = "submit", as = "secretariat", id = "b", params = good_app { provider_corporate_number = "1010001000006" } },
  { act = "confirm", as = "secretariat", id = "b" },
  { act = "submit", as = "secretariat", id = "c", params = good_app { service_name = "クラウド会計SaaS Pro" } },
  { view = "service-list", rows = 2 },
}
scenario "one service: the 法人番号, given later, is filled in, and then makes the service" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "a", params = app_with(function (a) a.provider_corporate_number = nil end) },
  { act = "amend", as = "secretariat", id = "a", params = { provider_corporate_number = "7000012050002" }, state = "submitted" },
  { act = "submit", as = "secretariat", params = good_app(), expect = "refused", reason = "有効な記録 a" },
}
scenario "a confirmed record cannot become another service: its name, provider and 法人番号 never change by amend" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { act = "amend", as = "secretariat", params = { service_name = "別のSaaS" }, expect = "refused",
    reason = "サービス名・事業者名・法人番号は変更できません。別のサービスとする場合は、この記録を取り下げて新たに申請してください" },
  { act = "amend", as = "secretariat", params = { provider_name = "別の株式会社" }, expect = "refused",
    reason = "cannot be changed: to make it another service, withdraw this record and submit a new application" },
  { act = "amend", as = "secretariat", params = { provider_corporate_number = "1010001000006" }, expect = "refused" },
  { state = "confirmed", view = "service-list", rows = 1 },
}
scenario "an amend of what R1–R4 read takes a confirmed record back to submitted: off the list, its uses kept" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { act = "use_incentive", as = "secretariat", params = { incentive = "audit_scope", used_on = "2024-01-01" } },
  { at = "2024-02-01", act = "amend", as = "secretariat", params = { planned_liu_application = "2024-12" }, state = "submitted",
    check = function (rec) return expect_eq(rec.data.confirmed_on, nil) end },
  { view = "service-list", rows = 0 },
  { act = "confirm", as = "secretariat", state = "confirmed",
    check = function (rec, ev)
      return expect_eq(rec.data.confirmed_on, "2024-02-01") and expect_eq(ev.incentives.audit_scope.available, false)
    end },
  { view = "service-list", rows = 1 },
}

-- ---------------------------------------------------------------- a plan already passed
-- 適用要件1: 「運用期間内に ISMAP-LIU の登録申請（事前申請を含む）を提出される予定であること」.
-- A planned time wholly before the time of the decision, with no filing
-- recorded, is no longer a plan: it is a plan that was not kept.

case "R1 「提出される予定であること」: a planned month wholly past at the decision, with no filing, is not a plan" {
  at = "2024-06-01", data = good_app { planned_liu_application = "2023-06" },
  expect = "ineligible", fails = { "R1" },
  reasons = { R1 = "予定時期 令和5年6月（2023年6月）は判定日 令和6年6月1日（2024年6月1日）の時点で既に過ぎており、ISMAP-LIU 申請の記録もありません。" },
}
case "R1 「提出される予定であること」: the reason says so in English too" {
  at = "2024-06-01", data = good_app { planned_liu_application = "2024-05-31" },
  expect = "ineligible", fails = { "R1" },
  reasons = { R1 = "the planned time of the ISMAP-LIU filing (2024-05-31) passed before 2024-06-01, and no filing is recorded" },
}
case "R1 「提出される予定であること」: the month of the decision is still a plan" {
  at = "2024-06-30T23:59:59+09:00", data = good_app { planned_liu_application = "2024-06" },
  expect = "eligible", fails = {},
}
case "R1 「提出される予定であること」: a passed plan with a filing recorded in the period is met by the filing" {
  at = "2024-06-01", data = app_with(function (a)
    a.planned_liu_application = "2023-06"
    a.liu_filings = { { type = "pre_application", filed_on = "2023-06-20" } }
  end),
  expect = "eligible", fails = {},
}
scenario "R1 「提出される予定であること」: planned 2023-06, confirmed 2024-06-01, is refused" {
  at = "2023-06-20",
  { act = "submit", as = "secretariat", params = good_app { planned_liu_application = "2023-06" }, state = "submitted" },
  { at = "2024-06-01", act = "confirm", as = "secretariat", expect = "refused",
    reason = "passed before 2024-06-01" },
}

-- ---------------------------------------------------------------- the list's conformity column
-- 特別措置サービスリスト: 「ISMAP 管理基準への適合状況」; 適用要件3: 言明 …
-- （脚注1: 監査報告書の提出は求めない）.  The column says that the conformity is a
-- statement, with no audit, part by part, and names what was excluded.

function excluding(ids)
  return app_with(function (a) for _, id in ipairs(ids) do a.statement.controls[id] = { excluded = "該当業務なし" } end end)
end

scenario "the list 「ISMAP管理基準への適合状況」: a self-statement with no audit, part by part, exclusions named" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = excluding { "9.2.3", "6.1.1", "12.6.1" } },
  { act = "confirm", as = "secretariat", state = "confirmed" },
  { view = "service-list", params = { lang = "ja" }, rows = 1, rows_check = function (rows)
      return expect_eq(rows[1].compliance,
        "言明（監査なし）: ISMAP管理基準（令和4年4月1日版）のガバナンス基準・マネジメント基準 全項目、" ..
        "統制目標 121 中 118（除外: 6.1.1、9.2.3、12.6.1）、詳細管理策（B）全項目（除外した統制目標の下の 3 件を除く）")
    end },
  { view = "service-list", params = { lang = "en" }, rows = 1, rows_check = function (rows)
      return expect_eq(rows[1].compliance,
        "self-statement (no audit) against the ISMAP criteria (2022-04-01 edition): governance and management " ..
        "criteria: all items; control objectives: 118 of 121 (excluded: 6.1.1, 9.2.3, 12.6.1); " ..
        "detailed controls (B): all (3 under excluded objectives exempt)")
    end },
}
case "the list 「ISMAP管理基準への適合状況」 never says 「満たす」 of objectives it excluded: 121 of 121 excluded" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  summary = function ()
    local c = compliance_text(excluding(CRIT.objectives).statement.controls, CRIT).ja
    return has(c, "統制目標 121 中 0（除外: 5.1.1、5.1.2、6.1.1、6.1.2、6.1.3 ほか 116 件）")
       and expect_eq(c:find("満たす", 1, true), nil, "「満たす」 in the column")
       and expect_eq(c:find("R1", 1, true), nil, "R1 in the column")
  end,
}

-- ---------------------------------------------------------------- assessor types in the notice's words
-- インセンティブ③: 「国の行政機関」「独立行政法人」「指定法人」.  The notice's names
-- are aliases of the codes: stored as the code, and read as the code by R2.

scenario "assessor_type 「国の行政機関」 (the notice's name) is stored as national_agency and meets R2" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a) a.impact_assessment.assessor_type = "国の行政機関" end),
    eval = "eligible",
    check = function (rec) return expect_eq(rec.data.impact_assessment.assessor_type, "national_agency") end },
}
for name, code in pairs({ ["独立行政法人"] = "independent_agency", ["指定法人"] = "designated_corporation",
                          [" National_Agency "] = "national_agency" }) do
  scenario("assessor_type 「" .. name .. "」 is stored as " .. code) {
    at = "2024-01-01",
    { act = "submit", as = "secretariat", params = app_with(function (a) a.impact_assessment.assessor_type = name end),
      eval = "eligible",
      check = function (rec) return expect_eq(rec.data.impact_assessment.assessor_type, code) end },
  }
end
case "R2 reads a stored 「国の行政機関」 as national_agency: never 「…は実施できる機関ではありません（実施できるのは 国の行政機関）」" {
  at = "2024-01-01", data = app_with(function (a) a.impact_assessment.assessor_type = "国の行政機関" end),
  expect = "eligible", fails = {},
}
case "R2 refuses an unknown assessing body with the codes that may assess, in prose" {
  at = "2024-01-01", data = app_with(function (a) a.impact_assessment.assessor_type = "民間企業" end),
  expect = "ineligible", fails = { "R2" },
  reasons = { R2 = "評価実施機関の種別「民間企業」は、令和5年6月1日（2023年6月1日）に影響度評価を実施できる機関ではありません" ..
                   "。実施できるのは 国の行政機関（national_agency）・独立行政法人（independent_agency）・指定法人（designated_corporation）です" },
}
case "R2: an independent agency could not assess before インセンティブ③ (令和5年5月19日)" {
  at = "2024-01-01", data = app_with(function (a)
    a.impact_assessment.assessor_type = "独立行政法人"; a.impact_assessment.assessed_on = "2023-05-18" end),
  expect = "ineligible", fails = { "R2" },
  reasons = { R2 = "was not allowed to assess on 2023-05-18; allowed: national administrative organ (national_agency)" },
}

-- ---------------------------------------------------------------- the notice's words
-- インセンティブ①: 「整備状況評価及び最小限度の運用状況評価」; 要件の確認: 「ISMAP 制度所管省庁が…確認」;
-- the notice defines no breach of a pledge: the pack says only that no filing is recorded.

case "インセンティブ① is 「最小限度の運用状況評価」 in the notice's words" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  summary = function ()
    local t = measure_of("incentive-1").title.ja
    return has(t, "最小限度の運用状況評価") and expect_eq(t:find("最低限", 1, true), nil, "「最低限」")
  end,
}
case "the plan has one label everywhere: 「ISMAP-LIU 申請（事前申請を含む）の予定時期」" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  summary = function ()
    return expect_eq(label_of("planned_liu_application"), "ISMAP-LIU 申請（事前申請を含む）の予定時期")
       and expect_eq(PLAN_LABEL.ja, "ISMAP-LIU 申請（事前申請を含む）の予定時期")
  end,
}
scenario "after the period a service with no filing reads 「運用期間内の ISMAP-LIU 申請の記録なし」, not a breach" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-04-01", enforce = true, state = "ended" },
  { view = "pledge-unfulfilled", params = { lang = "ja" }, rows = 1, rows_check = function (rows)
      return expect_eq(rows[1].status, "運用期間内の ISMAP-LIU 申請の記録なし")
    end },
  { view = "pledge-unfulfilled", params = { lang = "en" }, rows = 1, rows_check = function (rows)
      return expect_eq(rows[1].status, "no ISMAP-LIU filing recorded within the period")
    end },
}

-- ---------------------------------------------------------------- availability at an instant
-- インセンティブ①②: 特別措置の適用を受けたサービスが利用できる.  eval at an instant
-- answers for the record as it was then: not yet confirmed, not available.

local function confirmed_record(on)
  return { kind = "application", state = "confirmed",
           data = app_with(function (a) a.confirmed_on = on end) }
end
case "incentives at an instant before the confirmation are not available" {
  at = "2024-05-31T23:59:59+09:00", record = confirmed_record("2024-06-01"), expect = "eligible",
  summary = function (res)
    return expect_eq(res.incentives.audit_scope.available, false)
       and expect_eq(res.incentives.internal_audit_report.available, false)
  end,
}
case "incentives from the day of the confirmation are available" {
  at = "2024-06-01", record = confirmed_record("2024-06-01"), expect = "eligible",
  summary = function (res)
    return expect_eq(res.incentives.audit_scope.available, true)
       and expect_eq(res.incentives.internal_audit_report.available, true)
  end,
}
case "an incentive used later is still available at an instant before its use" {
  at = "2024-07-01", record = (function ()
    local r = confirmed_record("2024-06-01")
    r.data.incentives = { audit_scope = { used_on = "2024-08-01", recorded_on = "2024-08-01" } }
    return r end)(), expect = "eligible",
  summary = function (res)
    return expect_eq(res.incentives.audit_scope.available, true)
       and expect_eq(res.incentives.audit_scope.used_on, nil)
  end,
}
case "a withdrawn service's incentives were available while it was confirmed, not after" {
  at = "2024-07-01", record = { kind = "application", state = "withdrawn", data = app_with(function (a)
      a.confirmed_on = "2024-06-01"; a.withdrawal = { on = "2024-08-01", was = "confirmed" } end) },
  summary = function (res) return expect_eq(res.incentives.audit_scope.available, true) end,
}
case "a withdrawn service's incentives are not available after its withdrawal" {
  at = "2024-08-01", record = { kind = "application", state = "withdrawn", data = app_with(function (a)
      a.confirmed_on = "2024-06-01"; a.withdrawal = { on = "2024-08-01", was = "confirmed" } end) },
  summary = function (res) return expect_eq(res.incentives.audit_scope.available, false) end,
}

-- ---------------------------------------------------------------- anachronistic dates (pack decision)
-- The notice dates nothing before its own world: an impact assessment is made
-- for ISMAP-LIU (from 令和4年11月1日), a statement against an edition that
-- exists (from its date), a pledge under the special measure (「特別措置の
-- 適用にあたって」, from 令和5年5月19日) and after the statement it pledges.

local function submit_case(name, fn, field, reason)
  scenario(name) {
    at = "2024-01-01",
    { act = "submit", as = "secretariat", params = app_with(fn), expect = "invalid", field = field, reason = reason },
  }
end
submit_case("an impact assessment dated 1950 is refused (decision: none before ISMAP-LIU, 令和4年11月1日)",
  function (a) a.impact_assessment.assessed_on = "1950-04-01" end,
  "impact_assessment.assessed_on", "is before ISMAP-LIU began (2022-11-01)")
submit_case("a statement dated before its edition of the criteria is refused (decision)",
  function (a) a.statement.stated_on = "2022-03-31" end,
  "statement.stated_on", "is before the edition it is made against (2022-04-01)")
submit_case("a pledge dated before 「特別措置の適用にあたって」 could exist (2023-05-19) is refused (decision)",
  function (a) a.pledge.submitted_on = "2023-05-18" end,
  "pledge.submitted_on", "誓約書の提出日は特別措置の開始日 令和5年5月19日（2023年5月19日）より前です")
submit_case("a pledge dated before the statement it pledges is refused (decision)",
  function (a) a.statement.stated_on = "2023-06-20"; a.pledge.submitted_on = "2023-06-15" end,
  "pledge.submitted_on", "is before the statement it pledges (2023-06-20)")
case "R4 judges a stored pledge dated before its statement as not a pledge of it" {
  at = "2024-01-01", data = app_with(function (a) a.statement.stated_on = "2023-06-20"; a.pledge.submitted_on = "2023-06-15" end),
  expect = "ineligible", fails = { "R4" }, reasons = { R4 = "before the statement it pledges" },
}
scenario "R4 covers 「言明内容」: amending the statement needs a pledge of the new statement (decision)" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat",
    params = { statement = app_with(function (a) a.statement.stated_on = "2023-12-20" end).statement },
    expect = "refused", reason = "a new statement needs a new pledge: give pledge with its date" },
  { act = "amend", as = "secretariat",
    params = { statement = app_with(function (a) a.statement.stated_on = "2023-12-20" end).statement,
               pledge = { submitted_on = "2023-12-21" } },
    state = "submitted", eval = "eligible" },
}

-- ---------------------------------------------------------------- identifiers of the criteria (pack decision)
-- Only identifiers of the statement's edition are accepted; a near miss is
-- refused with the closest real identifier.

for bad, want in pairs({ ["9.4.2.2"] = "9.4.2.2.B", ["9.4.2.2.b"] = "9.4.2.2.B", ["9.4.2.2.B "] = "9.4.2.2.B",
                         ["6.1.1.1.X"] = "6.1.1.13.PB", ["６.１.１"] = "6.1.1" }) do
  submit_case("a near-miss identifier 「" .. bad .. "」 is refused, pointing at " .. want,
    function (a) a.statement.controls[bad] = "met" end,
    "statement.controls." .. bad, "(did you mean " .. want .. "?)")
end

-- ---------------------------------------------------------------- editions of the criteria are data (pack decision)
-- One file per edition, listed in data/editions.csv; a statement names its
-- edition.  A synthetic second edition, built by the loader's own function,
-- is judged by the same code as the real one.

local function synthetic() return edition_from_rows("2099-01-01", { ja = "ISMAP管理基準（試験版）", en = "ISMAP criteria (test edition)" }, {
  { criteria_type = "governance", control_id = "3.1.1", level = "item" },
  { criteria_type = "management", control_id = "4.1.1", level = "item" },
  { criteria_type = "controls", control_id = "5.1.1", level = "objective" },
  { criteria_type = "controls", control_id = "5.1.1.1.B", level = "detailed", suffix = "B", parent_id = "5.1.1" },
  { criteria_type = "controls", control_id = "6.1.1", level = "objective" },
}, "synthetic") end

case "editions: the real edition is listed in data/editions.csv with its date" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  summary = function ()
    return expect_eq(#CRITERIA_VERSIONS, 1) and expect_eq(CRITERIA["2022-04-01"].issued, "2022-04-01")
       and expect_eq(CRITERIA["2022-04-01"].count, 261)
  end,
}
case "editions: a second, synthetic edition is judged by the same code" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  summary = function ()
    local SYNTH = synthetic()
    local f = statement_findings({ ["3.1.1"] = "met", ["5.1.1"] = { excluded = "理由" } }, SYNTH)
    local errors = {}
    control_errors({ ["3.1.1"] = "met", ["9.4.2.2.B"] = "met" }, SYNTH, function (id, why) errors[#errors + 1] = id end)
    local cell = compliance_text({ ["3.1.1"] = "met", ["4.1.1"] = "met", ["5.1.1"] = { excluded = "理由" },
                                   ["6.1.1"] = "met" }, SYNTH)
    return expect_eq(table.concat(f.management, ","), "4.1.1")
       and expect_eq(table.concat(f.objectives, ","), "6.1.1")
       and expect_eq(#f.b_controls, 0, "B under an excluded objective")
       and expect_eq(table.concat(errors, ","), "9.4.2.2.B")
       and has(cell.ja, "ISMAP管理基準（試験版）") and has(cell.ja, "統制目標 2 中 1（除外: 5.1.1）")
  end,
}
case "editions: a statement naming an edition that is not in the data is refused by R3" {
  at = "2024-01-01", data = app_with(function (a) a.statement.criteria_version = "2099-01-01" end),
  expect = "ineligible", fails = { "R3" }, reasons = { R3 = "unknown edition of the criteria \"2099-01-01\" (known: 2022-04-01)" },
}

-- ---------------------------------------------------------------- who gave the assessment (pack decision)
-- 通知 3: the impact assessment is given by a 政府機関等 that uses or procures the
-- SaaS, or, where there is none, through the ISMAP-LIU 相談窓口.  The record
-- keeps which body (assessor) and which route (route).

scenario "the assessment records its route: a 政府機関等 using or procuring the SaaS" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a) a.impact_assessment.route = "利用・調達する政府機関等" end),
    eval = "eligible", check = function (rec) return expect_eq(rec.data.impact_assessment.route, "agency") end },
}
scenario "the assessment records its route: the ISMAP-LIU 相談窓口" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a) a.impact_assessment.route = "consultation_desk" end),
    eval = "eligible", check = function (rec) return expect_eq(rec.data.impact_assessment.route, "consultation_desk") end },
}
submit_case("an unknown route is refused with the routes there are",
  function (a) a.impact_assessment.route = "self" end,
  "impact_assessment.route", "must be agency (a government body that uses or procures the SaaS) or consultation_desk")
case "R2 needs the route of the assessment" {
  at = "2024-01-01", data = app_with(function (a) a.impact_assessment.route = nil end),
  expect = "ineligible", fails = { "R2" }, reasons = { R2 = "評価の経路（impact_assessment.route）がありません" },
}

-- ---------------------------------------------------------------- dates as the notice writes them (pack decision)
-- 「令和7年3月末」 is the notice's own phrase: 「X月末」 and 西暦 in kanji are dates,
-- full-width digits included.

for given, stored in pairs({ ["2023年6月15日"] = "2023-06-15", ["２０２３年６月１５日"] = "2023-06-15",
                             ["令和5年6月末"] = "2023-06-30", ["令和５年６月末"] = "2023-06-30",
                             ["2023年6月末"] = "2023-06-30" }) do
  scenario("the date 「" .. given .. "」 is read as " .. stored) {
    at = "2024-01-01",
    { act = "submit", as = "secretariat", params = app_with(function (a) a.pledge.submitted_on = given end),
      check = function (rec) return expect_eq(rec.data.pledge.submitted_on, stored) end },
  }
end
scenario "the plan 「令和7年3月末」 is the last day of the period" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app { planned_liu_application = "令和7年3月末" }, eval = "eligible",
    check = function (rec) return expect_eq(rec.data.planned_liu_application, "2025-03-31") end },
}
scenario "「2024年2月末」 is a leap day" {
  at = "2024-03-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "file_liu_application", as = "secretariat", params = { type = "application", filed_on = "2024年2月末" },
    check = function (rec) return expect_eq(rec.data.liu_filings[1].filed_on, "2024-02-29") end },
}

-- ---------------------------------------------------------------- the policy role reads the list (pack decision)
-- 「制度所管省庁」 makes the service list (「作成し」): its role may read it.

scenario "the policy role (制度所管省庁) may read the service list" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { view = "service-list", as = "policy", rows = 1 },
}

-- ---------------------------------------------------------------- messages an official would sign

scenario "a refusal by state names the state and the action in words, not codes" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "use_incentive", as = "secretariat", params = { incentive = "audit_scope", used_on = "2024-01-01" },
    expect = "refused", reason = "「インセンティブの利用の記録」は、状態が「申請受付」の記録にはできません（できる状態: 確認済み、運用期間終了）" },
}
scenario "a failing confirmation names the requirements of the notice, not R1–R4" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a) a.pledge = nil end) },
  { act = "confirm", as = "secretariat", expect = "refused", reason = "適用要件4（誓約書の提出）を満たさないため、確認できません。誓約書の提出日" },
}
submit_case("a bad statement entry is explained without Lua syntax",
  function (a) a.statement.controls["3.1.1"] = "yes" end,
  "statement.controls.3.1.1", "ガバナンス基準 3.1.1 は「met」（満たす）と書いてください")
submit_case("an objective is called 統制目標, a B control 詳細管理策",
  function (a) a.statement.controls["9.4.2.2.B"] = { excluded = "理由" } end,
  "statement.controls.9.4.2.2.B", "詳細管理策 9.4.2.2.B は除外できません（除外できるのは統制目標だけです）")
submit_case("a field's reason names the field once, in words: the client prints its path before it",
  function (a) a.impact_assessment.assessed_on = "2023-02-30" end,
  "impact_assessment.assessed_on", "impact_assessment.assessed_on: not a date: no such date (e.g. 2023-06-01, 2023/6/1, 令和5年6月1日 or 令和7年3月末) / 影響度評価の実施日は日付として読めません")
case "Japanese reasons give dates in 和暦 with 西暦 in parentheses; English has no 「〜」" {
  at = "2025-04-01", data = good_app(), expect = "ineligible", fails = { "period", "R1" },
  reasons = { period = "令和5年5月19日（2023年5月19日）から令和7年3月31日（2025年3月31日）まで" },
  summary = function (res)
    local r = reason_of(res, "period")
    return expect_eq(r.en:find("〜", 1, true), nil, "〜 in English") and has(r.en, "2023-05-19 to 2025-03-31")
       and expect_eq(r.ja:find("2023-05-19", 1, true), nil, "an ISO date in Japanese")
  end,
}

-- ---------------------------------------------------------------- late recording (pack decision, item 10)
-- The notice does not say until when a fact of the period may be recorded.
-- The pack's decision (00-pack.lua, LATE_RECORDING_DAYS = 90): a use of ① ②
-- and an ISMAP-LIU filing dated within the period are both recordable after
-- the deadline, for 90 days after its last day (until 2025-06-29), on a
-- service confirmed on the date of the use; never later.

scenario "decision (LATE_RECORDING_DAYS): a use of ① dated within the period is recorded after the deadline, as a filing is" {
  at = "2025-03-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-04-01T00:00+09:00", enforce = true, state = "ended" },
  { at = "2025-05-15", act = "use_incentive", as = "secretariat", params = { incentive = "audit_scope", used_on = "2025-03-20" },
    state = "ended", check = function (rec) return expect_eq(rec.data.incentives.audit_scope.used_on, "2025-03-20") end },
  { act = "file_liu_application", as = "secretariat", params = { type = "application", filed_on = "2025-03-25" },
    state = "ended", check = function (rec) return expect_eq(rec.data.ended.liu_filed_in_period, true) end },
}
scenario "decision (LATE_RECORDING_DAYS): not on a date the service was not yet confirmed" {
  at = "2025-03-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-04-01T00:00+09:00", enforce = true, state = "ended" },
  { at = "2025-05-15", act = "use_incentive", as = "secretariat", params = { incentive = "audit_scope", used_on = "2025-02-28" },
    expect = "refused", reason = "確認日 令和7年3月1日（2025年3月1日）より前の日付です" },
}
scenario "decision (LATE_RECORDING_DAYS): after the window neither a use nor an in-period filing is recorded" {
  at = "2025-03-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-04-01T00:00+09:00", enforce = true, state = "ended" },
  { at = "2025-06-30", act = "use_incentive", as = "secretariat", params = { incentive = "internal_audit_report", used_on = "2025-03-20" },
    expect = "refused", reason = "令和7年3月20日の利用は運用期間内ですが、記録の猶予（令和7年6月29日まで）を過ぎているため記録できません" },
  { act = "file_liu_application", as = "secretariat", params = { type = "application", filed_on = "2025-03-25" },
    expect = "refused", reason = "may be recorded until 2025-06-29 (90 days after the period)" },
  -- a filing after the period is a follow-up, recorded whenever it comes
  { act = "file_liu_application", as = "secretariat", params = { type = "application", filed_on = "2025-06-01" }, state = "ended" },
}

-- ---------------------------------------------------------------- the handling marking (item 8)
-- 特別措置サービスリスト: 「政府機関等限りの取扱いとし、対外公表はいたしません」.  Both
-- lists declare it; the daemon puts it in every format (the CSV's first line,
-- HTML, print, JSON, liuctl's table: tests/29-neutral.t, tests/92-html.t).

case "the lists carry 「政府機関等限りの取扱いとし、対外公表はいたしません」" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  summary = function ()
    return expect_eq(LIST_MARKING.ja, "政府機関等限りの取扱いとし、対外公表はいたしません")
       and expect_eq(LIST_MARKING.en, "For government bodies only; not to be made public")
  end,
}
