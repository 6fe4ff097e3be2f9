-- The requirements (20-checks.lua): period, R1–R4, passing and failing, with
-- the boundary instants of the notice.

local ALL = { "special-measure", "incentive-1", "incentive-2", "assessor-eligibility" }

case "a complete application is eligible inside the period" {
  at = "2024-01-01", data = good_app(), expect = "eligible", fails = {}, in_force = ALL,
}

-- ---------------------------------------------------------------- period boundaries
-- After the period, good_app()'s plan (2025-03) has passed with no filing
-- recorded: R1 fails with the period (tests/60-notice.lua).
local AFTER = { "period", "R1" }

case "eligible at the last second of the period (2025-03-31T23:59:59+09:00)" {
  at = "2025-03-31T23:59:59+09:00", data = good_app(), expect = "eligible", fails = {}, in_force = ALL,
}
case "ineligible at the first instant after the period (2025-04-01T00:00+09:00)" {
  at = "2025-04-01T00:00+09:00", data = good_app(), expect = "ineligible", fails = AFTER,
  reasons = { period = "has ended" },
  in_force = { "assessor-eligibility" }, not_in_force = { "special-measure", "incentive-1", "incentive-2" },
}
case "the end of the period in UTC: 2025-03-31T14:59:59Z is inside" {
  at = "2025-03-31T14:59:59Z", data = good_app(), expect = "eligible",
}
case "the end of the period in UTC: 2025-03-31T15:00:00Z is outside" {
  at = "2025-03-31T15:00:00Z", data = good_app(), expect = "ineligible", fails = AFTER,
}
case "令和7年3月31日 (00:00 JST) is inside" {
  at = "令和7年3月31日", data = good_app(), expect = "eligible",
}
case "令和7年4月1日 (00:00 JST) is outside" {
  at = "令和7年4月1日", data = good_app(), expect = "ineligible", fails = AFTER,
}
case "ineligible at the last second before the period (2023-05-18T23:59:59+09:00)" {
  -- no pledge under the measure can be dated before it (R4)
  at = "2023-05-18T23:59:59+09:00", data = early_app(), expect = "ineligible", fails = { "period", "R4" },
  reasons = { period = "has not started" },
  not_in_force = ALL,
}
case "eligible at the first instant of the period (2023-05-19T00:00+09:00)" {
  at = "2023-05-19T00:00+09:00", data = early_app(), expect = "eligible", fails = {}, in_force = ALL,
}
case "long after the period only the permanent measure is in force" {
  at = "2030-01-01", data = good_app(), expect = "ineligible", fails = AFTER,
  in_force = { "assessor-eligibility" }, not_in_force = { "special-measure", "incentive-1", "incentive-2" },
}

-- ---------------------------------------------------------------- nothing given

case "an empty application fails R1–R4, each saying what is missing" {
  at = "2024-01-01", data = {}, expect = "ineligible", fails = { "R1", "R2", "R3", "R4" },
  reasons = { R1 = "planned_liu_application", R2 = "impact_assessment", R3 = "statement", R4 = "pledge.submitted_on" },
}
case "malformed sub-objects fail the checks instead of breaking them" {
  at = "2024-01-01", expect = "ineligible", fails = { "R1", "R2", "R3", "R4" },
  data = { impact_assessment = "low", statement = 5, pledge = "yes", planned_liu_application = {},
           liu_filings = "x", incentives = 3, certifications = "ISO" },
  summary = function (res)
    return expect_eq(res.incentives.audit_scope.available, false)
  end,
}
case "a record with garbage inside its lists does not break eval" {
  at = "2024-01-01", expect = "ineligible", fails = { "R1", "R2", "R3" },
  data = app_with(function (a)
    a.planned_liu_application = nil
    a.liu_filings = { "x", { filed_on = 5 }, { filed_on = "2023-02-30" } }
    a.impact_assessment = { result = { "low" }, assessed_on = 7, assessor_type = {} }
    a.statement = { criteria_version = {}, controls = {} }
  end),
  -- a reason names a value that is not text by its type, never by a
  -- memory address ("table: 0x…" differs from run to run)
  summary = function (res)
    for _, c in ipairs(res.checks) do
      for _, text in pairs(c.reason or {}) do
        if text:find("table: ", 1, true) then error("a reason shows a memory address: " .. text, 2) end
      end
    end
    return has(res.checks[3].reason.ja, "（[…]）")
  end,
}

-- ---------------------------------------------------------------- R1

case "R1: no planned time and no filing" {
  data = app_with(function (a) a.planned_liu_application = nil end),
  expect = "ineligible", fails = { "R1" }, reasons = { R1 = "no planned time" },
}
for _, p in ipairs({ "2023-05", "2023-05-19", "2024-10", "2025-03", "2025-03-31", "令和7年3月", "2024-10-15T10:00+09:00" }) do
  case("R1: planned " .. p .. " is within the period") {
    at = "2023-05-19", expect = "eligible",
    data = (function () local a = early_app(); a.planned_liu_application = p; return a end)(),
  }
end
for _, p in ipairs({ "2023-04", "2023-05-18", "2025-04", "2025-04-01", "令和7年4月", "2026-01" }) do
  case("R1: planned " .. p .. " is outside the period") {
    data = good_app { planned_liu_application = p }, expect = "ineligible", fails = { "R1" },
    reasons = { R1 = "is not within the period (2023-05-19 to 2025-03-31)" },
  }
end
case "R1: an unreadable planned time says so" {
  data = good_app { planned_liu_application = "2024-13" }, fails = { "R1" }, reasons = { R1 = "cannot be read" },
}
for _, t in ipairs({ "pre_application", "application" }) do
  case("R1: an ISMAP-LIU " .. t .. " filed within the period meets R1 without a plan") {
    data = app_with(function (a)
      a.planned_liu_application = nil
      a.liu_filings = { { type = t, filed_on = "2023-12-01" } }
    end),
    expect = "eligible",
  }
  case("R1: an ISMAP-LIU " .. t .. " filed within the period meets R1 even with a plan outside") {
    data = app_with(function (a)
      a.planned_liu_application = "2026-01"
      a.liu_filings = { { type = t, filed_on = "2025-03-31" } }
    end),
    at = "2025-03-31T12:00+09:00", expect = "eligible",
  }
end
case "R1: a filing before the period does not count" {
  data = app_with(function (a)
    a.planned_liu_application = nil
    a.liu_filings = { { type = "application", filed_on = "2023-05-18" } }
  end),
  fails = { "R1" },
}
case "R1: a filing dated after the time of the evaluation does not count" {
  at = "2024-01-01",
  data = app_with(function (a)
    a.planned_liu_application = nil
    a.liu_filings = { { type = "application", filed_on = "2024-06-01" } }
  end),
  fails = { "R1" },
}

-- ---------------------------------------------------------------- R2

for _, r in ipairs({ "moderate", "high" }) do
  case("R2: an impact assessment result " .. r .. " fails") {
    data = app_with(function (a) a.impact_assessment.result = r end),
    expect = "ineligible", fails = { "R2" }, reasons = { R2 = "not low (" .. r .. ")" },
  }
end
case "R2: no impact assessment" {
  data = app_with(function (a) a.impact_assessment = nil end), fails = { "R2" }, reasons = { R2 = "no business/information impact assessment" },
}
for _, k in ipairs({ "result", "assessed_on", "assessor_type" }) do
  case("R2: impact_assessment." .. k .. " missing") {
    data = app_with(function (a) a.impact_assessment[k] = nil end),
    fails = { "R2" }, reasons = { R2 = "impact_assessment." .. k .. ") is missing" },
  }
end
case "R2: an assessment dated after the evaluation fails" {
  at = "2023-07-01", data = app_with(function (a) a.impact_assessment.assessed_on = "2023-07-02" end),
  fails = { "R2" }, reasons = { R2 = "dated after 2023-07-01" },
}
case "R2: several problems are all named" {
  data = app_with(function (a)
    a.impact_assessment.result = "high"
    a.impact_assessment.assessor_type = "designated_corporation"
    a.impact_assessment.assessed_on = "2023-05-01"
  end),
  fails = { "R2" }, reasons = { R2 = "not low (high); the assessing body, designated_corporation, was not allowed" },
}

-- Measure ③: who may assess, before and from 2023-05-19.
local ASSESSORS = {
  --  type                     before 2023-05-19   from 2023-05-19
  { "national_agency",         true,               true },
  { "independent_agency",      false,              true },
  { "designated_corporation",  false,              true },
  { "local_government",        false,              false },
  { "private_company",         false,              false },
}
for _, row in ipairs(ASSESSORS) do
  local t, before, after = row[1], row[2], row[3]
  for _, d in ipairs({ { "2023-05-18", before }, { "2022-12-01", before }, { "2023-05-19", after }, { "2024-06-01", after } }) do
    case(string.format("R2: %s assessing on %s is %s", t, d[1], d[2] and "allowed" or "not allowed")) {
      at = "2024-07-01",
      data = app_with(function (a)
        a.impact_assessment.assessor_type = t
        a.impact_assessment.assessed_on = d[1]
      end),
      expect = d[2] and "eligible" or "ineligible", fails = d[2] and {} or { "R2" },
      reasons = not d[2] and { R2 = "was not allowed to assess on " .. d[1] } or nil,
    }
  end
end
case "R2: the reason says who was allowed before 2023-05-19" {
  at = "2024-07-01",
  data = app_with(function (a)
    a.impact_assessment.assessor_type = "independent_agency"
    a.impact_assessment.assessed_on = "2023-05-18"
  end),
  reasons = { R2 = "「独立行政法人」は、令和5年5月18日（2023年5月18日）に影響度評価を実施できる機関ではありません。実施できるのは 国の行政機関（national_agency）です" },
}
case "R2: the reason lists the bodies allowed from 2023-05-19" {
  at = "2024-07-01",
  data = app_with(function (a) a.impact_assessment.assessor_type = "local_government" end),
  reasons = { R2 = "allowed: national administrative organ (national_agency), incorporated administrative agency (independent_agency), designated corporation (designated_corporation)" },
}

-- ---------------------------------------------------------------- R3

case "R3: no statement" {
  data = app_with(function (a) a.statement = nil end), fails = { "R3" }, reasons = { R3 = "no statement" },
}
case "R3: unknown criteria version" {
  data = app_with(function (a) a.statement.criteria_version = "2099-01-01" end),
  fails = { "R3" }, reasons = { R3 = "unknown edition of the criteria \"2099-01-01\" (known: 2022-04-01)" },
}
case "R3: criteria version missing" {
  data = app_with(function (a) a.statement.criteria_version = nil end),
  fails = { "R3" }, reasons = { R3 = "statement.criteria_version" },
}
case "R3: no controls" {
  data = app_with(function (a) a.statement.controls = nil end),
  fails = { "R3" }, reasons = { R3 = "lists no criteria" },
}
case "R3: stated_on missing" {
  data = app_with(function (a) a.statement.stated_on = nil end),
  fails = { "R3" }, reasons = { R3 = "statement.stated_on) is missing" },
}
case "R3: a statement dated after the evaluation" {
  at = "2023-06-05", data = app_with(function (a)
    a.impact_assessment.assessed_on = "2023-06-01"; a.pledge.submitted_on = "2023-06-01"
  end),
  -- the pledge, dated before the statement, is not a pledge of it (R4)
  fails = { "R3", "R4" }, reasons = { R3 = "dated after 2023-06-05", R4 = "before the statement it pledges" },
}
case "R3: nothing stated lists all 261 identifiers by part" {
  data = app_with(function (a) a.statement.controls = {} end),
  fails = { "R3" },
  reasons = { R3 = "governance criteria: 24 (" },
  summary = function (res)
    local r = reason_of(res, "R3").en
    return has(r, "management criteria: 85 (") and has(r, "control objectives: 121 (")
           and has(r, "detailed controls ending in B: 31 (")
           and expect_eq(select(2, listed_ids(res):gsub(",", ",")) + 1, 261, "identifiers listed")
  end,
}
case "R3: controls stated `not met` are listed" {
  data = app_with(function (a) a.statement.controls["5.1.1"] = "not_met" end),
  fails = { "R3" }, summary = function (res) return expect_eq(listed_ids(res), "5.1.1") end,
}

-- Every identifier, left out alone, is listed alone.
for _, id in ipairs(ALL_IDS) do
  local level = CRIT.by_id[id]
  local what = level.type == "controls" and (level.level == "objective" and "objective" or "B control") or level.type
  case("R3: " .. what .. " " .. id .. " not stated") {
    data = app_with(function (a) a.statement.controls[id] = nil end),
    expect = "ineligible", fails = { "R3" },
    summary = function (res) return expect_eq(listed_ids(res), id, "identifiers listed") end,
  }
end

-- Every objective may be excluded with a reason; its B controls are then exempt.
for _, id in ipairs(CRIT.objectives) do
  case("R3: objective " .. id .. " excluded with a reason, its B controls left out") {
    data = app_with(function (a)
      a.statement.controls[id] = { excluded = "当該サービスでは該当する業務がない" }
      for _, b in ipairs(CRIT.b_controls) do
        if b.parent == id then a.statement.controls[b.id] = nil end
      end
    end),
    expect = "eligible",
  }
end

-- Each B control: missing fails naming it; its objective excluded without a
-- reason does not exempt it.
for _, b in ipairs(CRIT.b_controls) do
  case("R3: B control " .. b.id .. " missing under objective " .. b.parent) {
    data = app_with(function (a) a.statement.controls[b.id] = nil end),
    fails = { "R3" }, reasons = { R3 = "detailed controls ending in B: 1 (" .. b.id .. ")" },
  }
  case("R3: B control " .. b.id .. " under " .. b.parent .. " excluded without a reason") {
    data = app_with(function (a)
      a.statement.controls[b.parent] = { excluded = "" }
      a.statement.controls[b.id] = nil
    end),
    fails = { "R3" },
    summary = function (res)
      local r = reason_of(res, "R3").en
      return has(r, "excluded without a reason: 1 (" .. b.parent .. ")")
             and expect_eq(listed_ids(res), table.concat((function ()
               local l = { b.parent, b.id }; table.sort(l); return l end)(), ","))
    end,
  }
end
case "R3: an objective excluded with a blank reason is not excluded" {
  data = app_with(function (a) a.statement.controls["6.1.2"] = { excluded = "  " } end),
  fails = { "R3" }, reasons = { R3 = "除外の理由がない統制目標 6.1.2" },
}
case "R3: a B control stated met under an excluded objective is fine" {
  data = app_with(function (a) a.statement.controls["6.3.1.P"] = { excluded = "理由" } end),
  expect = "eligible",
}
case "R3: an excluded B control (not allowed) counts as not stated" {
  data = app_with(function (a) a.statement.controls["9.4.2.2.B"] = { excluded = "理由" } end),
  fails = { "R3" }, summary = function (res) return expect_eq(listed_ids(res), "9.4.2.2.B") end,
}
case "R3: an excluded governance item counts as not stated" {
  data = app_with(function (a) a.statement.controls["3.1.1"] = { excluded = "理由" } end),
  fails = { "R3" }, summary = function (res) return expect_eq(listed_ids(res), "3.1.1") end,
}
case "R3: the reason is bilingual" {
  -- 9.4.2.2.B: a B control that exists (5.1.1.PB, used here before, does not)
  data = app_with(function (a) a.statement.controls["9.4.2.2.B"] = nil; a.statement.controls["3.1.1"] = nil end),
  fails = { "R3" },
  summary = function (res)
    local r = reason_of(res, "R3")
    return has(r.ja, "言明されていない項目：ガバナンス基準 3.1.1") and has(r.en, "governance criteria: 1 (3.1.1)")
       and has(r.ja, "詳細管理策 9.4.2.2.B") and has(r.en, "detailed controls ending in B: 1 (9.4.2.2.B)")
  end,
}

-- ---------------------------------------------------------------- R4

case "R4: no pledge" {
  data = app_with(function (a) a.pledge = nil end), fails = { "R4" }, reasons = { R4 = "no pledge" },
}
case "R4: a pledge without its date" {
  data = good_app { pledge = {} }, fails = { "R4" }, reasons = { R4 = "pledge.submitted_on" },
}
case "R4: a pledge with an impossible date" {
  data = good_app { pledge = { submitted_on = "2023-02-30" } }, fails = { "R4" }, reasons = { R4 = "is not a date" },
}
case "R4: a pledge dated after the evaluation is not submitted yet" {
  at = "2023-06-14", data = good_app(), fails = { "R4" }, reasons = { R4 = "not submitted yet" },
}
case "R4: a pledge dated the day of the evaluation counts" {
  at = "2023-06-15", data = good_app(), expect = "eligible",
}
case "R4: a pledge in 和暦 counts" {
  data = good_app { pledge = { submitted_on = "令和5年6月15日" } }, expect = "eligible",
}

-- ---------------------------------------------------------------- all at once

case "every failing requirement is reported together" {
  at = "2025-04-01", data = { service_name = "S", provider_name = "P" },
  fails = { "period", "R1", "R2", "R3", "R4" },
}

-- ---------------------------------------------------------------- incentives summary

case "incentives are not available to an application not confirmed" {
  data = good_app(), state = "submitted",
  summary = function (res)
    return expect_eq(res.incentives.audit_scope.available, false)
       and expect_eq(res.incentives.internal_audit_report.available, false)
  end,
}
case "incentives are available to a confirmed application in the period" {
  record = { kind = "application", state = "confirmed", data = good_app() },
  summary = function (res)
    return expect_eq(res.incentives.audit_scope.available, true)
       and expect_eq(res.incentives.internal_audit_report.available, true)
       and expect_eq(res.incentives.audit_scope.used_on, nil)
  end,
}
case "a used incentive is not available and says when" {
  at = "2024-03-01", record = { kind = "application", state = "confirmed",
             data = good_app { incentives = { audit_scope = { used_on = "2024-02-01" } } } },
  summary = function (res)
    return expect_eq(res.incentives.audit_scope.available, false)
       and expect_eq(res.incentives.audit_scope.used_on, "2024-02-01")
       and expect_eq(res.incentives.internal_audit_report.available, true)
  end,
}
case "incentives are not available after the period" {
  at = "2025-04-01", record = { kind = "application", state = "confirmed", data = good_app() },
  summary = function (res)
    return expect_eq(res.incentives.audit_scope.available, false)
       and expect_eq(res.incentives.internal_audit_report.available, false)
  end,
}
case "incentives are available at the last second of the period" {
  at = "2025-03-31T23:59:59+09:00", record = { kind = "application", state = "confirmed", data = good_app() },
  summary = function (res) return expect_eq(res.incentives.internal_audit_report.available, true) end,
}

-- ---------------------------------------------------------------- extreme values never break eval

for _, p in ipairs({ "0001-01-01", "9999-12-31", "9999-12", "0000-01", "0001-01" }) do
  case("R1: the planned time " .. p .. " fails without breaking eval") {
    data = good_app { planned_liu_application = p }, expect = "ineligible", fails = { "R1" },
  }
end
case "R2/R4: extreme dates fail without breaking eval" {
  at = "2024-01-01",
  data = app_with(function (a) a.impact_assessment.assessed_on = "9999-12-31"; a.pledge.submitted_on = "9999-12-31" end),
  fails = { "R2", "R4" },
}
case "R1: a filing on an extreme date does not count" {
  data = app_with(function (a)
    a.planned_liu_application = nil
    a.liu_filings = { { type = "application", filed_on = "0001-01-01" }, { type = "application", filed_on = "9999-12-31" } }
  end),
  fails = { "R1" },
}
