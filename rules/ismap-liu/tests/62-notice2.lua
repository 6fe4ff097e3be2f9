-- What an official still found reading the notice clause by clause
-- (「ISMAP-LIU 登録促進のための特別措置について」, 令和5年5月19日): each test quotes
-- the clause it enforces or states the pack's decision (README).

-- ---------------------------------------------------------------- one service without its 法人番号 (items 1, 2)
-- インセンティブ①②: 「運用期間内に一度に限り」; 特別措置サービスリスト: one row per
-- service.  Decision: a service is confirmed only with its 法人番号, so that
-- a record without one (identified by its provider's name, however written)
-- can never be listed beside the numbered record of the same service.

local function unnumbered(over)
  local a = good_app(over)
  a.provider_corporate_number = nil
  return a
end

scenario "「一度に限り」: a record without its 法人番号 cannot be confirmed beside the numbered one, nor use ① again" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "named", params = unnumbered { service_name = "同一性SaaS", provider_name = "株式会社テスト" } },
  -- the same service with its number: the service has a live record (63-identity-unnumbered.lua)
  { act = "submit", as = "secretariat",
    params = good_app { service_name = "同一性SaaS", provider_name = "株式会社テスト", provider_corporate_number = "9234567890123" },
    expect = "refused", reason = "有効な記録 named" },
  { act = "confirm", as = "secretariat", id = "named", expect = "refused",
    reason = "法人番号が記入されていないため、確認できません" },
  { act = "withdraw", as = "secretariat", id = "named" },
  { act = "submit", as = "secretariat", id = "numbered",
    params = good_app { service_name = "同一性SaaS", provider_name = "株式会社テスト", provider_corporate_number = "9234567890123" } },
  { act = "confirm", as = "secretariat", id = "numbered", state = "confirmed" },
  { act = "use_incentive", as = "secretariat", id = "numbered", params = { incentive = "audit_scope", used_on = "2024-01-01" } },
  -- without its number, it is the same service, which has a live record
  { act = "submit", as = "secretariat", params = unnumbered { service_name = "同一性SaaS", provider_name = "株式会社テスト" },
    expect = "refused", reason = "有効な記録 numbered" },
  { view = "service-list", rows = 1 },
}
scenario "「(株)テスト」 and 「株式会社テスト」 cannot make two listings of one service: neither is confirmed without its 法人番号" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "a", params = unnumbered { service_name = "同一性SaaS", provider_name = "株式会社テスト" } },
  { act = "submit", as = "secretariat", id = "b", params = unnumbered { service_name = "同一性SaaS", provider_name = "(株)テスト" } },
  { act = "confirm", as = "secretariat", id = "a", expect = "refused", reason = "cannot confirm without the provider's corporate number" },
  { act = "confirm", as = "secretariat", id = "b", expect = "refused", reason = "法人番号" },
  { act = "amend", as = "secretariat", id = "a", params = { provider_corporate_number = "9234567890123" } },
  { act = "confirm", as = "secretariat", id = "a", state = "confirmed" },
  { act = "amend", as = "secretariat", id = "b", params = { provider_corporate_number = "9234567890123" },
    expect = "refused", reason = "有効な記録 a" },
  { view = "service-list", rows = 1 },
}

-- ---------------------------------------------------------------- every objective excluded (item 5 of the issue)
-- 適用要件3: 「全統制目標（理由を付した除外を除く）」.  With every objective
-- excluded no B control is left: the list says none is stated, never 「全項目」.
-- Decision: such a statement states nothing of the control criteria and
-- does not meet 適用要件3.

case "the list's 「詳細管理策（B）」 with every objective excluded says none is stated" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  summary = function ()
    local c = compliance_text(excluding(CRIT.objectives).statement.controls, CRIT)
    return has(c.ja, "詳細管理策（B）の言明なし（31 件すべてが除外した統制目標の下）")
       and expect_eq(c.ja:find("全項目（除外", 1, true), nil, "「全項目」 of none")
       and has(c.en, "detailed controls (B): none stated (all 31 under excluded objectives)")
  end,
}
scenario "decision: a statement excluding all 121 control objectives is not confirmed" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = excluding(CRIT.objectives), eval = "ineligible" },
  { act = "confirm", as = "secretariat", expect = "refused",
    reason = "適用要件3（管理基準への適合の言明）を満たさないため、確認できません。統制目標 121 件をすべて除外しており" },
  { view = "service-list", rows = 0 },
}

-- ---------------------------------------------------------------- one label of the plan (item 7)
-- 特別措置サービスリスト: 「ISMAP-LIU 申請（事前申請を含む）の予定時期」.

case "the plan's parameter carries the one label, and its hint the forms accepted (令和, a month's end, a date)" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  summary = function ()
    return expect_eq(PLAN_PARAM.ja:sub(1, #PLAN_LABEL.ja), PLAN_LABEL.ja)
       and has(PLAN_PARAM.ja, "令和6年10月") and has(PLAN_PARAM.ja, "令和7年3月末")
       and expect_eq(PLAN_PARAM.ja:find("YYYY-MM", 1, true), nil, "YYYY-MM")
       and expect_eq(PLAN_PARAM.en:find("YYYY-MM", 1, true), nil, "YYYY-MM")
       and expect_eq(FILINGS_LABEL.ja, "ISMAP-LIU 申請の状況")
  end,
}

-- ---------------------------------------------------------------- 言明内容 and dates (item 11)
-- 適用要件4: 誓約書は「登録申請の意思及び言明内容」について.  Decision: a new
-- statement needs a new pledge date; an assessment is not dated after it is
-- recorded.

scenario "R4 covers 「言明内容」: a new statement with the old pledge date sent again is refused" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat",
    params = { statement = app_with(function (a) a.statement.stated_on = "2023-12-20" end).statement,
               pledge = { submitted_on = "令和5年6月15日" } },
    expect = "refused", reason = "誓約書の提出日 令和5年6月15日（2023年6月15日）は変更前と同じです" },
  { act = "amend", as = "secretariat",
    params = { statement = app_with(function (a) a.statement.stated_on = "2023-12-20" end).statement,
               pledge = { submitted_on = "2023-12-20" } },
    eval = "eligible" },
}
scenario "decision: an impact assessment dated in the future (2030-01-01) is refused at submit and amend" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat",
    params = app_with(function (a) a.impact_assessment.assessed_on = "2030-01-01" end),
    expect = "refused", reason = "impact_assessment.assessed_on: 2030-01-01 is after the day it is recorded (2024-01-01)" },
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat",
    params = { impact_assessment = app_with(function (a) a.impact_assessment.assessed_on = "令和12年1月1日" end).impact_assessment },
    expect = "refused", reason = "影響度評価の実施日 令和12年1月1日（2030年1月1日）は記録する日（令和6年1月1日）より後の日付です" },
}

-- ---------------------------------------------------------------- a second edition, from its own file (item 13)
-- Decision: editions are data, one CSV each, listed in an editions file.
-- The tests' list (tests/data/editions.csv) names the real edition and a
-- synthetic one: the loader reads both files, while this file loads.
local TEST_EDITIONS
do
  local ok, eds, versions = pcall(editions_from_file, "tests/data/editions.csv")
  TEST_EDITIONS = ok and { editions = eds, versions = versions } or { error = tostring(eds) }
end

case "editions: a second edition is loaded from its own CSV by the pack's loader" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  summary = function ()
    if TEST_EDITIONS.error then error(TEST_EDITIONS.error) end
    local eds, versions = TEST_EDITIONS.editions, TEST_EDITIONS.versions
    local synth = eds["2099-01-01"]
    local f = statement_findings({ ["3.1.1"] = "met", ["4.1.1"] = "met", ["5.1.1"] = "met" }, synth)
    return expect_eq(table.concat(versions, ","), "2022-04-01,2099-01-01")
       and expect_eq(eds["2022-04-01"].count, 261) and expect_eq(synth.count, 5)
       and expect_eq(synth.issued, "2099-01-01") and expect_eq(synth.title.ja, "ISMAP管理基準（試験版）")
       and expect_eq(table.concat(f.objectives, ","), "6.1.1") and expect_eq(table.concat(f.b_controls, ","), "5.1.1.1.B")
  end,
}

-- ---------------------------------------------------------------- who assessed, and by which route (item 14)
-- 通知 3: the assessment is given by the 政府機関等 that use or procure the
-- SaaS, or through the ISMAP-LIU 相談窓口.  `record get` shows both; a
-- submitted assessment is complete with its route.

local function summary_line(lines, ja)
  for _, l in ipairs(lines) do if l.ja == ja then return l.value end end
  error("no line " .. ja)
end
case "record get shows the assessing body and the route of the assessment" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  summary = function ()
    local lines = application_summary(good_app(), 0, { id = "x", state = "submitted" })
    local body = summary_line(lines, "評価実施機関")
    local route = summary_line(lines, "評価の経路")
    return expect_eq(body.ja, "デジタル庁（国の行政機関）") and expect_eq(body.en, "デジタル庁 (national administrative organ)")
       and expect_eq(route.ja, "当該 SaaS を利用・調達する政府機関等")
  end,
}
scenario "a submitted impact assessment without its route is refused (a sub-object is complete)" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a) a.impact_assessment.route = nil end),
    expect = "refused", reason = "impact_assessment.route: 評価の経路は必須です。agency（当該 SaaS を利用・調達する政府機関等）または consultation_desk（ISMAP-LIU 相談窓口）を指定してください" },
}

-- ---------------------------------------------------------------- words an official would sign
scenario "a refused confirmation names the requirement, then what is not stated, in prose" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a) a.statement.controls["3.1.1"] = nil end) },
  { act = "confirm", as = "secretariat", expect = "refused",
    reason = "適用要件3（管理基準への適合の言明）を満たさないため、確認できません。言明されていない項目：ガバナンス基準 3.1.1。" },
}
case "no date in a parenthesis of a parenthesis: 「令和6年3月1日（2024年3月1日）」 sits in the prose" {
  at = "2024-01-01", data = app_with(function (a) a.pledge.submitted_on = "2024-03-01" end),
  expect = "ineligible", fails = { "R4" },
  summary = function (res)
    local r = reason_of(res, "R4").ja
    return has(r, "誓約書の提出日 令和6年3月1日（2024年3月1日）は判定日 令和6年1月1日（2024年1月1日）より後です")
       and expect_eq(r:find("日（20[0-9-]*）", 1), nil, "（…（…））")
       and expect_eq(r:find("））", 1, true), nil, "））")
  end,
}
case "an edition not registered is named with the editions there are, in 和暦" {
  at = "2024-01-01", data = app_with(function (a) a.statement.criteria_version = "2023-04-01" end),
  expect = "ineligible", fails = { "R3" },
  reasons = { R3 = "管理基準の版「2023-04-01」は登録されていません（登録されている版：令和4年4月1日版）" },
}
scenario "enumerations: 「申請の種類（…）：「x」は指定できません。… を指定してください」 (one は)" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "file_liu_application", as = "secretariat", params = { type = "x", filed_on = "2024-01-01" }, expect = "refused",
    reason = "type: 申請の種類（pre_application または application）：「x」は指定できません。pre_application（事前申請）または application（登録申請）を指定してください" },
}
scenario "a near-miss identifier: 「最も近い識別子は 詳細管理策 9.4.2.2.B です」" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a) a.statement.controls["9.4.2.2"] = "met" end),
    expect = "invalid", field = "statement.controls.9.4.2.2", reason = "最も近い識別子は 詳細管理策 9.4.2.2.B です" },
}
scenario "a use inside the period recorded after the late window: 「…の利用は運用期間内ですが、記録の猶予（…まで）を過ぎている」" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-04-01", enforce = true, state = "ended" },
  { at = "2025-07-01", act = "use_incentive", as = "secretariat", params = { incentive = "audit_scope", used_on = "2025-03-25" },
    expect = "refused", reason = "令和7年3月25日の利用は運用期間内ですが、記録の猶予（令和7年6月29日まで）を過ぎているため記録できません" },
}
scenario "English messages: no backticks, the secretariat records what the pack keeps" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app { confirmed_on = "2024-01-01" }, expect = "refused",
    reason = "confirmed_on: recorded by the secretariat's actions" },
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "use_incentive", as = "secretariat", params = { incentive = "free", used_on = "2024-01-01" }, expect = "refused" },
  { act = "confirm", as = "secretariat" },
  { act = "use_incentive", as = "secretariat", params = { incentive = "free", used_on = "2024-01-01" }, expect = "refused",
    reason = "incentive: \"free\" is not an incentive" },
}
scenario "the lists: 「確定」 reads 済/未, 「運用期間の終了」 and the filings in 和暦" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { view = "pledge-unfulfilled", params = { lang = "ja" }, rows = 1, rows_check = function (rows)
      return expect_eq(rows[1].final, "未") and expect_eq(rows[1].period_ends, "令和7年3月31日")
    end },
  { at = "2025-03-28", act = "file_liu_application", as = "secretariat", params = { type = "pre_application", filed_on = "2025-03-28" } },
  { view = "service-list", params = { lang = "ja" }, rows = 1, rows_check = function (rows)
      return expect_eq(rows[1].liu_filings, "事前申請 令和7年3月28日")
    end },
  { at = "2025-04-01", enforce = true },
  { act = "submit", as = "secretariat", params = good_app { service_name = "B" }, expect = "refused" },
}
case "the period check says 「運用期間内です」, not 「満たしています」" {
  at = "2024-01-01", data = good_app(), expect = "eligible",
  reasons = { period = "運用期間内です" },
}
scenario "a date floor is said in the sentence: 「特別措置の開始日 令和5年5月19日（2023年5月19日）より前です」" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a) a.pledge.submitted_on = "2023-05-18" end),
    expect = "invalid", field = "pledge.submitted_on", reason = "誓約書の提出日は特別措置の開始日 令和5年5月19日（2023年5月19日）より前です" },
}
