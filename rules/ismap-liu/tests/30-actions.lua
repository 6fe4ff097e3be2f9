-- Actions (30-actions.lua): guards, state changes, parameters, roles.

-- ---------------------------------------------------------------- the whole life

scenario "submit, confirm, use both incentives, file, end with the pledge kept" {
  at = "2023-07-01",
  { act = "submit", as = "secretariat", params = good_app(), state = "submitted", eval = "eligible" },
  { act = "confirm", as = "secretariat", state = "confirmed",
    check = function (rec, ev)
      return expect_eq(rec.data.confirmed_on, "2023-07-01")
         and expect_eq(ev.incentives.audit_scope.available, true)
    end },
  { at = "2024-02-01", act = "use_incentive", as = "secretariat",
    params = { incentive = "audit_scope", used_on = "2024-02-01" }, state = "confirmed",
    check = function (rec, ev)
      return expect_eq(rec.data.incentives.audit_scope.used_on, "2024-02-01")
         and expect_eq(ev.incentives.audit_scope.available, false)
         and expect_eq(ev.incentives.audit_scope.used_on, "2024-02-01")
         and expect_eq(ev.incentives.internal_audit_report.available, true)
    end },
  { act = "use_incentive", as = "secretariat", params = { incentive = "internal_audit_report", used_on = "令和6年1月31日" },
    check = function (rec, ev)
      return expect_eq(rec.data.incentives.internal_audit_report.used_on, "2024-01-31")
         and expect_eq(ev.incentives.internal_audit_report.available, false)
    end },
  { at = "2024-10-15", act = "file_liu_application", as = "secretariat",
    params = { type = "pre_application", filed_on = "2024-10-15" }, state = "confirmed",
    check = function (rec) return expect_eq(#rec.data.liu_filings, 1) and expect_eq(rec.data.liu_filings[1].type, "pre_application") end },
  { view = "pledge-unfulfilled", rows = 0 },
  { view = "service-list", rows = 1 },
  { at = "2025-04-01T00:00+09:00", enforce = true, state = "ended", eval = "ineligible",
    check = function (rec) return expect_eq(rec.data.ended.liu_filed_in_period, true) and expect_eq(rec.data.ended.on, "2025-04-01") end },
}

-- ---------------------------------------------------------------- every state × every action

local ACTIONS = {
  -- not a field of the service's identity, nor one R1–R4 read: the state stays
  amend = { certifications = { { name = "ISO/IEC 27017", valid_until = "2026-03-31" } } },
  confirm = {},
  reject = { reason = "要件不備" },
  withdraw = {},
  file_liu_application = { type = "application", filed_on = "2024-01-01" },
  use_incentive = { incentive = "audit_scope", used_on = "2024-01-01" },
}
-- state -> action -> expected outcome (and the state after, when ok)
local MATRIX = {
  submitted = { amend = "submitted", confirm = "confirmed", reject = "rejected", withdraw = "withdrawn",
                file_liu_application = "submitted", use_incentive = false },
  confirmed = { amend = "confirmed", confirm = false, reject = "rejected", withdraw = "withdrawn",
                file_liu_application = "confirmed", use_incentive = "confirmed" },
  rejected  = {},
  withdrawn = {},
  lapsed    = {},
  ended     = { file_liu_application = "ended", use_incentive = "ended" },  -- within the late-recording window
}
local STATES = { "submitted", "confirmed", "rejected", "withdrawn", "lapsed", "ended" }
STATE_WORDS = { submitted = "申請受付", confirmed = "確認済み", rejected = "却下", withdrawn = "取下げ",
                lapsed = "失効（運用期間内に確認されず）", ended = "運用期間終了" }
local NAMES = { "amend", "confirm", "reject", "withdraw", "file_liu_application", "use_incentive" }
for _, state in ipairs(STATES) do
  for _, name in ipairs(NAMES) do
    local after = MATRIX[state][name]
    local step = { act = name, as = "secretariat", params = ACTIONS[name] }
    if after then
      step.state = after
    else
      step.expect = "refused"
      -- the state in words (kind's state_titles), never its code
      step.reason = "「" .. STATE_WORDS[state] .. "」の記録にはできません"
    end
    scenario_of(string.format("%s in state %s: %s", name, state, after and ("ok → " .. after) or "refused"),
                steps_to(state), { step })
  end
end

-- ---------------------------------------------------------------- roles

for _, role in ipairs({ "agency", "policy" }) do
  scenario_of(role .. " may not submit", { { act = "submit", as = role, params = good_app(), expect = "forbidden" } })
  for _, name in ipairs(NAMES) do
    scenario_of(role .. " may not " .. name, steps_to("submitted"),
                { { act = name, as = role, params = ACTIONS[name], expect = "forbidden" } })
  end
end
scenario_of("admin may do what the secretariat does", { { act = "submit", as = "admin", params = good_app() },
  { act = "confirm", as = "admin", state = "confirmed" } })

-- ---------------------------------------------------------------- submit

scenario "submit at the last second before the period is refused" {
  at = "2023-05-18T23:59:59+09:00",
  { act = "submit", as = "secretariat", params = early_app(), expect = "refused", reason = "not in force" },
}
scenario "submit at the first instant of the period is accepted, and confirmed" {
  at = "2023-05-19T00:00+09:00",
  { act = "submit", as = "secretariat", params = early_app(), state = "submitted" },
  { act = "confirm", as = "secretariat", state = "confirmed" },
}
scenario "submit at the last second of the period is accepted" {
  at = "2025-03-31T23:59:59+09:00",
  { act = "submit", as = "secretariat", params = good_app(), state = "submitted" },
  { act = "confirm", as = "secretariat", state = "confirmed" },
}

-- ---------------------------------------------------------------- confirm

scenario "confirm is refused while a requirement is not met, naming it; amend, then confirm" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a) a.pledge = nil end), eval = "ineligible" },
  { act = "confirm", as = "secretariat", expect = "refused", reason = "requirement 4 (the pledge): no pledge" },
  { act = "amend", as = "secretariat", params = { pledge = { submitted_on = "2023-12-01" } }, state = "submitted" },
  { act = "confirm", as = "secretariat", state = "confirmed" },
}
scenario "confirm names every requirement not met" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = { service_name = "S", provider_name = "P" } },
  { act = "confirm", as = "secretariat", expect = "refused", reason = "requirement 1 (a planned ISMAP-LIU filing): no planned time" },
  { act = "confirm", as = "secretariat", expect = "refused", reason = "requirement 2 (a low impact assessment): no business/information impact assessment" },
  { act = "confirm", as = "secretariat", expect = "refused", reason = "requirement 3 (the statement against the criteria): no statement" },
  { act = "confirm", as = "secretariat", expect = "refused", reason = "requirement 4 (the pledge): no pledge" },
  { act = "confirm", as = "secretariat", expect = "refused",
    reason = "適用要件1（ISMAP-LIU 申請の予定）・適用要件2（影響度評価の結果が低位）・適用要件3（管理基準への適合の言明）・適用要件4（誓約書の提出）を満たさないため、確認できません。" },
}
scenario "confirm names the missing B control" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a) a.statement.controls["12.4.1.15.PB"] = nil end) },
  { act = "confirm", as = "secretariat", expect = "refused", reason = "12.4.1.15.PB" },
}
scenario "confirm after the period (before expiry has run) is refused" {
  at = "2025-03-31",
  { act = "submit", as = "secretariat", params = good_app() },
  { at = "2025-04-01T00:00+09:00", act = "confirm", as = "secretariat", expect = "refused", reason = "the period of the special measure: the special measure" },
}
scenario "confirm at the last second of the period" {
  at = "2025-03-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { at = "2025-03-31T23:59:59+09:00", act = "confirm", as = "secretariat", state = "confirmed",
    check = function (rec) return expect_eq(rec.data.confirmed_on, "2025-03-31") end },
}
scenario "confirm with the assessor not yet allowed is refused" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a)
      a.impact_assessment.assessor_type = "designated_corporation"; a.impact_assessment.assessed_on = "2023-05-18" end) },
  { act = "confirm", as = "secretariat", expect = "refused", reason = "requirement 2" },
  { act = "amend", as = "secretariat", params = { impact_assessment = {
      assessor = "指定法人X", assessor_type = "designated_corporation", route = "agency", result = "low", assessed_on = "2023-05-19" } } },
  { act = "confirm", as = "secretariat", state = "confirmed" },
}
scenario "confirm takes no parameters" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat", params = { force = true }, expect = "refused", reason = "force: unknown parameter" },
}

-- ---------------------------------------------------------------- amend

scenario "amend replaces top-level fields and normalises them" {
  { act = "submit", as = "secretariat", params = { service_name = "S", provider_name = "P" } },
  { act = "amend", as = "secretariat", params = { planned_liu_application = "令和6年10月", pledge = { submitted_on = "令和5年6月15日" } },
    check = function (rec)
      return expect_eq(rec.data.planned_liu_application, "2024-10") and expect_eq(rec.data.pledge.submitted_on, "2023-06-15")
         and expect_eq(rec.data.service_name, "S")
    end },
}
scenario "amend with nothing is refused" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat", params = {}, expect = "refused", reason = "nothing to amend" },
}
scenario "amend of an unknown field is refused" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat", params = { servce_name = "x" }, expect = "refused", reason = "servce_name: unknown field" },
}
for _, f in ipairs({ "confirmed_on", "liu_filings", "incentives", "ended", "rejection" }) do
  scenario("amend of " .. f .. " (recorded by the pack) is refused") {
    { act = "submit", as = "secretariat", params = good_app() },
    { act = "amend", as = "secretariat", params = { [f] = "x" }, expect = "refused", reason = f .. ": recorded by the secretariat's actions" },
  }
end
scenario "amend with a bad value is invalid, naming the field" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat", params = { pledge = { submitted_on = "2023-02-30" } }, expect = "invalid", field = "pledge.submitted_on" },
}
scenario "amend of a confirmed application with a bad value is invalid, naming the field" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { act = "amend", as = "secretariat", params = { provider_corporate_number = "1234567890123" }, expect = "invalid",
    field = "provider_corporate_number" },
}
-- Only what an amend replaces is validated again (the rest was validated when
-- it was written): a replaced statement is judged in full, and normalised.
scenario "amend of the statement validates the new statement, naming the control" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat",
    params = { statement = app_with(function (a) a.statement.controls["99.9.9"] = "met" end).statement,
               pledge = { submitted_on = "2023-06-16" } },
    expect = "invalid", field = "statement.controls.99.9.9" },
  { act = "amend", as = "secretariat",
    params = { statement = app_with(function (a) a.statement.stated_on = "令和5年6月12日" end).statement,
               pledge = { submitted_on = "2023-06-16" } },
    check = function (rec) return expect_eq(rec.data.statement.stated_on, "2023-06-12") end },
}
scenario "amend of a confirmed application's statement is confirmed again, against R3" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { act = "amend", as = "secretariat",
    params = { statement = app_with(function (a) a.statement.controls[B_IDS[1]] = nil end).statement,
               pledge = { submitted_on = "2023-06-16" } },
    state = "submitted", eval = "ineligible" },
  { act = "confirm", as = "secretariat", expect = "refused", reason = "requirement 3" },
  { act = "amend", as = "secretariat", params = { statement = good_app().statement, pledge = { submitted_on = "2023-06-17" } },
    state = "submitted", eval = "eligible" },
  { act = "confirm", as = "secretariat", state = "confirmed",
    check = function (rec) return expect_eq(rec.data.statement.controls[B_IDS[1]], "met") end },
}
scenario "amend can clear an optional field" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat", params = { clear = { "planned_liu_application", "certifications" } }, eval = "ineligible",
    check = function (rec) return expect_eq(rec.data.planned_liu_application, nil) and expect_eq(rec.data.certifications, nil) end },
}
-- The amend compares only the fields it replaces or clears with what they
-- were (it never reads the others): these hold that comparison to its word.
scenario "clearing a confirmed application's plan, even listed twice, confirms it again" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat", state = "confirmed" },
  { act = "amend", as = "secretariat", params = { clear = { "planned_liu_application", "planned_liu_application" } },
    state = "submitted", eval = "ineligible" },
}
scenario "amending a confirmed application's plan to the same month, or another field, keeps it confirmed" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat", state = "confirmed" },
  { act = "amend", as = "secretariat", params = { planned_liu_application = good_app().planned_liu_application },
    state = "confirmed" },
  { act = "amend", as = "secretariat", params = { certifications = {} }, state = "confirmed" },
  { act = "amend", as = "secretariat", params = { statement = good_app().statement }, state = "confirmed" },
  { act = "amend", as = "secretariat", params = { planned_liu_application = "2024-12" }, state = "submitted" },
}
scenario "amend cannot clear a required field" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat", params = { clear = { "service_name" } }, expect = "refused", reason = "not an optional field" },
}
scenario "amend cannot both set and clear a field" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat", params = { pledge = { submitted_on = "2023-07-01" }, clear = { "pledge" } },
    expect = "refused", reason = "both given and cleared" },
}
scenario "amend's clear must be a list" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "amend", as = "secretariat", params = { clear = "pledge" }, expect = "refused", reason = "clear: must be a list" },
}
scenario "a confirmed application stays confirmed when what R1–R4 read is unchanged" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { act = "amend", as = "secretariat", params = { certifications = { { name = "ISO/IEC 27017" } } },
    state = "confirmed", eval = "eligible" },
}
scenario "a confirmed application stays confirmed when a field is given again as it is, by its label" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { act = "amend", as = "secretariat", params = { impact_assessment = {
      assessor = "デジタル庁", assessor_type = "国の行政機関", route = "agency", result = "低位", assessed_on = "2023/6/1" } },
    state = "confirmed", eval = "eligible" },
}
scenario "a confirmed application's statement given again as it is, dates as Excel writes them, is no new statement" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { act = "amend", as = "secretariat", params = { statement = {
      criteria_version = "2022/4/1", stated_on = "2023/6/10", controls = good_app().statement.controls } },
    state = "confirmed", eval = "eligible" },
}
scenario "a confirmed application amended out of the requirements goes back to submitted, and is not confirmed again" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { act = "amend", as = "secretariat", params = { impact_assessment = {
      assessor = "デジタル庁", assessor_type = "national_agency", route = "agency", result = "moderate", assessed_on = "2023-06-01" } },
    state = "submitted", eval = "ineligible" },
  { act = "confirm", as = "secretariat", expect = "refused",
    reason = "requirement 2 (a low impact assessment): the impact assessment result is not low" },
}
scenario "amend after the period is refused" {
  at = "2025-03-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { at = "2025-04-01", act = "amend", as = "secretariat", params = { service_name = "X" }, expect = "refused", reason = "not in force" },
}

-- ---------------------------------------------------------------- reject, withdraw

scenario "reject records its reason" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "reject", as = "secretariat", params = { reason = "  言明の内容が確認できない " }, state = "rejected",
    check = function (rec)
      return expect_eq(rec.data.rejection.reason, "言明の内容が確認できない") and expect_eq(rec.data.rejection.on, "2024-01-01")
    end },
}
scenario "revoking a confirmation takes the service off the list" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { view = "service-list", rows = 1 },
  { act = "reject", as = "secretariat", params = { reason = "虚偽の言明" }, state = "rejected",
    check = function (rec) return expect_eq(rec.data.rejection.was, "confirmed") end },
  { view = "service-list", rows = 0 },
}
for _, bad in ipairs({ { nil, "reason: the reason for the rejection is required" }, { "", "reason: is empty" },
                       { "　", "reason: is empty" }, { 5, "reason: must be text" } }) do
  scenario("reject with reason " .. tostring(bad[1]) .. " is refused") {
    { act = "submit", as = "secretariat", params = good_app() },
    { act = "reject", as = "secretariat", params = { reason = bad[1] }, expect = "refused", reason = bad[2] },
    { state = "submitted" },
  }
end
scenario "reject with an unknown parameter is refused" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "reject", as = "secretariat", params = { reason = "x", why = "y" }, expect = "refused", reason = "why: unknown parameter" },
}
scenario "withdraw with and without a reason" {
  { act = "submit", as = "secretariat", params = good_app(), id = "a" },
  { act = "withdraw", as = "secretariat", id = "a", state = "withdrawn",
    check = function (rec) return expect_eq(rec.data.withdrawal.reason, nil) end },
  { act = "submit", as = "secretariat", params = good_app(), id = "b" },
  { act = "withdraw", as = "secretariat", id = "b", params = { reason = "事業者の申出" }, state = "withdrawn",
    check = function (rec) return expect_eq(rec.data.withdrawal.reason, "事業者の申出") end },
}
scenario "withdraw with a blank reason is refused" {
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "withdraw", as = "secretariat", params = { reason = " " }, expect = "refused", reason = "reason: is empty" },
}

-- ---------------------------------------------------------------- file_liu_application

local function filing(params, expect, reason, at)
  return { at = at, act = "file_liu_application", as = "secretariat", params = params, expect = expect, reason = reason }
end
local FILING_ERRORS = {
  { {}, "type: the type of filing (pre_application or application) is required" },
  { { filed_on = "2024-01-01" }, "type: the type of filing (pre_application or application) is required" },
  { { type = "registration", filed_on = "2024-01-01" }, "type: \"registration\" is not a filing: give pre_application or application" },
  { { type = "application" }, "filed_on: the date of filing is required" },
  { { type = "application", filed_on = "2023-02-30" }, "filed_on: not a date: no such date" },
  { { type = "application", filed_on = "令和元年4月1日" }, "filed_on: not a date: date outside that era" },
  { { type = "application", filed_on = 20240101 }, "filed_on: not a date" },
  { { type = "application", filed_on = "2024-01-02" }, "filed_on: 2024-01-02 is in the future" },
  { { type = "application", filed_on = "2022-10-31" }, "filed_on: is before ISMAP-LIU began (2022-11-01)" },
  { { type = "application", filed_on = "2024-01-01", note = "x" }, "note: unknown parameter" },
}
for _, e in ipairs(FILING_ERRORS) do
  scenario("file_liu_application refuses: " .. e[2]) {
    at = "2024-01-01",
    { act = "submit", as = "secretariat", params = good_app() },
    filing(e[1], "refused", e[2]),
  }
end
scenario "the same filing twice is refused; another one is recorded" {
  at = "2024-03-01",
  { act = "submit", as = "secretariat", params = good_app() },
  filing({ type = "pre_application", filed_on = "2024-02-01" }),
  filing({ type = "pre_application", filed_on = "令和6年2月1日" }, "refused", "already recorded"),
  filing({ type = "application", filed_on = "2024-02-01" }),
  { check = function (rec) return expect_eq(#rec.data.liu_filings, 2) end },
}
scenario "a filing within the period meets R1 when the plan is gone" {
  at = "2024-03-01",
  { act = "submit", as = "secretariat", params = good_app() },
  filing({ type = "application", filed_on = "2024-02-01" }),
  { act = "amend", as = "secretariat", params = { planned_liu_application = "2026-01" }, eval = "eligible" },
  { act = "confirm", as = "secretariat", state = "confirmed" },
}
scenario "a filing recorded after the period on an ended record, dated within it, keeps the pledge" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-04-01", enforce = true, state = "ended",
    check = function (rec) return expect_eq(rec.data.ended.liu_filed_in_period, false) end },
  { view = "pledge-unfulfilled", rows = 1 },
  filing({ type = "application", filed_on = "2025-03-31" }, nil, nil, "2025-04-10"),
  { state = "ended", check = function (rec) return expect_eq(rec.data.ended.liu_filed_in_period, true) end },
  { view = "pledge-unfulfilled", rows = 0 },
}
scenario "a filing after the period is recorded but does not keep the pledge" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-04-01", enforce = true, state = "ended" },
  filing({ type = "application", filed_on = "2025-04-05" }, nil, nil, "2025-04-10"),
  { check = function (rec) return expect_eq(rec.data.ended.liu_filed_in_period, false) and expect_eq(#rec.data.liu_filings, 1) end },
  { view = "pledge-unfulfilled", rows = 1 },
}

-- ---------------------------------------------------------------- use_incentive

local function confirmed_at(at)
  return { { at = at or "2024-01-01", act = "submit", as = "secretariat", params = good_app() },
           { act = "confirm", as = "secretariat", state = "confirmed" } }
end
local function use(incentive, used_on, expect, reason, at)
  return { at = at, act = "use_incentive", as = "secretariat", params = { incentive = incentive, used_on = used_on },
           expect = expect, reason = reason }
end
for _, inc in ipairs(INCENTIVES) do
  scenario_of(inc.name .. " used twice: the second is refused", confirmed_at(),
    { use(inc.name, "2024-01-01"), use(inc.name, "2024-01-01", "refused", "already used by this service on 2024-01-01 (once only)"),
      use(inc.name, "2024-01-01", "refused", "利用済みです（1回限り）"),
      { check = function (rec, ev) return expect_eq(ev.incentives[inc.name].used_on, "2024-01-01") end } })
  scenario_of(inc.name .. " at the last second of the period", confirmed_at("2025-03-30"),
    { use(inc.name, "2025-03-31", nil, nil, "2025-03-31T23:59:59+09:00") })
  scenario_of(inc.name .. " dated within the period, recorded at the first instant after it: recorded late", confirmed_at("2025-03-30"),
    { use(inc.name, "2025-03-31", nil, nil, "2025-04-01T00:00+09:00") })
  scenario_of(inc.name .. " dated after the period is refused", confirmed_at("2025-03-30"),
    { use(inc.name, "2025-04-01", "refused", "is outside the period of", "2025-04-01T00:00+09:00") })
  scenario_of(inc.name .. " while only submitted is refused",
    { { act = "submit", as = "secretariat", params = good_app() } },
    { use(inc.name, "2024-01-01", "refused", "状態が「申請受付」の記録にはできません") })
  scenario_of(inc.name .. " dated before the confirmation is refused", confirmed_at(),
    { use(inc.name, "2023-12-31", "refused", "before the application was confirmed (2024-01-01)") })
  scenario_of(inc.name .. " dated in the future is refused", confirmed_at(),
    { use(inc.name, "2024-01-02", "refused", "used_on: 2024-01-02 is in the future") })
  scenario_of(inc.name .. " with an impossible date is refused", confirmed_at(),
    { use(inc.name, "2023-02-30", "refused", "used_on: not a date") })
  scenario_of(inc.name .. " without a date is refused", confirmed_at(),
    { use(inc.name, nil, "refused", "used_on: the date of use is required") })
  scenario_of(inc.name .. " after expiry (ended), dated within the period, is recorded within the window", confirmed_at(),
    { { at = "2025-04-01", enforce = true, state = "ended" }, use(inc.name, "2025-03-31", nil, nil, "2025-06-29T23:59:59+09:00") })
  scenario_of(inc.name .. " after the late-recording window is refused", confirmed_at(),
    { { at = "2025-04-01", enforce = true, state = "ended" },
      use(inc.name, "2025-03-31", "refused", "falls within the period, but the time to record it ended on 2025-06-29", "2025-06-30") })
end
scenario_of("an unknown incentive is refused", confirmed_at(),
  { use("free_pass", "2024-01-01", "refused", "incentive: \"free_pass\" is not an incentive: give audit_scope (incentive ①) or internal_audit_report (incentive ②)") })
scenario_of("a missing incentive is refused", confirmed_at(),
  { use(nil, "2024-01-01", "refused", "incentive: the incentive (audit_scope ① or internal_audit_report ②) is required") })
scenario_of("use_incentive with an unknown parameter is refused", confirmed_at(),
  { { act = "use_incentive", as = "secretariat", params = { incentive = "audit_scope", used_on = "2024-01-01", count = 2 },
      expect = "refused", reason = "count: unknown parameter" } })
scenario_of("using ① leaves ② available", confirmed_at(),
  { use("audit_scope", "2024-01-01"),
    { check = function (rec, ev)
        return expect_eq(ev.incentives.audit_scope.available, false) and expect_eq(ev.incentives.internal_audit_report.available, true)
      end } })
