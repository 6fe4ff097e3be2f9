-- Validation of every field of an application (10-application.lua).

-- submit(name, app, expect, field, reason): one scenario submitting `app`.
local function submit(name, app, expect, field, reason, check)
  scenario(name) {
    at = "2024-03-01",     -- after every date given here (an assessment is not dated later than its record)
    { act = "submit", as = "secretariat", params = app, expect = expect or "ok", field = field,
      reason = reason, check = check },
  }
end

-- Submitting a field of good_app() replaced; fn gets the app to change.
local function submit_with(name, fn, expect, field, reason, check)
  submit(name, app_with(fn), expect, field, reason, check)
end

submit("a complete application is accepted", good_app(), "ok", nil, nil, function (rec, ev)
  return expect_eq(rec.state, "submitted") and expect_eq(ev.decision, "eligible")
end)
submit("only the service and provider names are required",
       { service_name = "S", provider_name = "P" }, "ok")

-- ---------------------------------------------------------------- required, types

for _, f in ipairs({ "service_name", "provider_name" }) do
  submit_with("missing " .. f .. " is refused", function (a) a[f] = nil end, "invalid", f, "required")
  submit_with("empty " .. f .. " is refused", function (a) a[f] = "" end, "invalid", f, "empty")
  submit_with("blank (全角スペース) " .. f .. " is refused", function (a) a[f] = "　 " end, "invalid", f, "empty")
  submit_with(f .. " as a number is refused", function (a) a[f] = 42 end, "invalid", f, "must be text")
  submit_with(f .. " with a line break is refused", function (a) a[f] = "a\nb" end, "invalid", f, "line breaks")
  submit_with(f .. " longer than 200 characters is refused", function (a) a[f] = string.rep("あ", 201) end,
              "invalid", f, "at most 200")
  submit_with(f .. " is trimmed", function (a) a[f] = "  名前　" end, "ok", nil, nil,
              function (rec) return expect_eq(rec.data[f], "名前") end)
end

submit_with("an unknown field is refused, by name", function (a) a.planed_liu_application = "2024-10" end,
            "invalid", "planed_liu_application", "unknown field")
submit_with("a field the pack records is refused in submit", function (a) a.confirmed_on = "2024-01-01" end,
            "refused", nil, "confirmed_on")
submit_with("liu_filings may not be given in submit", function (a) a.liu_filings = {} end,
            "refused", nil, "liu_filings")

-- ---------------------------------------------------------------- 法人番号

for _, n in ipairs({ "7000012050002", "1000011000005", "4000012090001" }) do
  submit_with("corporate number " .. n .. " is valid", function (a) a.provider_corporate_number = n end, "ok")
end
-- Every wrong check digit of 7000012050002 is refused.
for d = 0, 9 do
  if d ~= 7 then
    submit_with("corporate number with check digit " .. d .. " instead of 7 is refused",
                function (a) a.provider_corporate_number = d .. "000012050002" end,
                "invalid", "provider_corporate_number", "check digit")
  end
end
submit_with("corporate number with a space inside is refused",
            function (a) a.provider_corporate_number = "７０００ ０１２０５０００２" end,
            "invalid", "provider_corporate_number", "13 digits")
submit_with("corporate number in full-width digits without spaces is accepted",
            function (a) a.provider_corporate_number = "７００００１２０５０００２" end, "ok", nil, nil,
            function (rec) return expect_eq(rec.data.provider_corporate_number, "7000012050002") end)
submit_with("corporate number of 12 digits is refused",
            function (a) a.provider_corporate_number = "700001205000" end, "invalid", "provider_corporate_number", "13 digits")
submit_with("corporate number with letters is refused",
            function (a) a.provider_corporate_number = "700001205000A" end, "invalid", "provider_corporate_number", "13 digits")
submit_with("corporate number as a JSON number is refused",
            function (a) a.provider_corporate_number = 7000012050002 end, "invalid", "provider_corporate_number", "must be text")
submit_with("the corporate number is optional",
            function (a) a.provider_corporate_number = nil end, "ok")

-- ---------------------------------------------------------------- dates
-- Every date field accepts ISO dates, instants with an offset and 和暦, and
-- refuses impossible dates.

local DATE_FIELDS = {
  { path = "impact_assessment.assessed_on", set = function (a, v) a.impact_assessment.assessed_on = v end,
    get = function (d) return d.impact_assessment.assessed_on end },
  { path = "statement.stated_on", set = function (a, v) a.statement.stated_on = v; a.pledge.submitted_on = "2024-03-01" end,
    get = function (d) return d.statement.stated_on end },
  { path = "pledge.submitted_on", set = function (a, v) a.statement.stated_on = "2023-05-19"; a.pledge.submitted_on = v end,
    get = function (d) return d.pledge.submitted_on end },
  { path = "certifications[1].valid_until", set = function (a, v) a.certifications[1].valid_until = v end,
    get = function (d) return d.certifications[1].valid_until end },
}

local GOOD_DATES = {
  { "2023-06-01", "2023-06-01" },
  { "令和5年6月1日", "2023-06-01" },
  { "令和５年６月１日", "2023-06-01" },
  { "2023-06-01T10:00+09:00", "2023-06-01" },
  { "2023-06-01T00:00:00+09:00", "2023-06-01" },
  { "2023-05-31T15:00:00Z", "2023-06-01" },          -- midnight in JST
  { "2023-05-31T14:59:59Z", "2023-05-31" },
  { "2023-06-01T08:30:00.250+09:00", "2023-06-01" },
  { "2024-02-29", "2024-02-29" },
  { "2023/6/1", "2023-06-01" },     -- Excel's own format
  { "2023/06/01", "2023-06-01" },
}
-- Dates of other eras: only a certificate's validity may lie that far back
-- (the other dates have floors: tests/60-notice.lua).
local ERA_DATES = {
  { "令和元年5月1日", "2019-05-01" },
  { "平成31年4月30日", "2019-04-30" },
  { "平成元年1月8日", "1989-01-08" },
}
local BAD_DATES = {
  { "2023-02-30", "no such date" },
  { "2023-02-29", "no such date" },
  { "2023-13-01", "no such date" },
  { "令和元年4月1日", "outside that era" },
  { "平成31年5月1日", "outside that era" },
  { "令和5年2月30日", "no such date" },
  { "2023/02/30", "no such date" },
  { "2023-6-1", "not a date" },
  { "June 1, 2023", "not a date" },
  { "", "not a date" },
  { "2023-06-01T25:00+09:00", "not a date" },
  { "0999-12-31", "year out of range" },
  { "0001-01-01", "year out of range" },
}

for _, f in ipairs(DATE_FIELDS) do
  for _, g in ipairs(GOOD_DATES) do
    submit_with(f.path .. " = " .. g[1] .. " is stored as " .. g[2], function (a) f.set(a, g[1]) end, "ok", nil, nil,
                function (rec) return expect_eq(f.get(rec.data), g[2], f.path) end)
  end
  for _, b in ipairs(BAD_DATES) do
    submit_with(f.path .. " = " .. b[1] .. " is refused", function (a) f.set(a, b[1]) end,
                "invalid", f.path, b[2])
  end
  submit_with(f.path .. " as a number is refused", function (a) f.set(a, 20230601) end,
              "invalid", f.path, "must be a string")
end
for _, g in ipairs(ERA_DATES) do
  local f = DATE_FIELDS[4]
  submit_with(f.path .. " = " .. g[1] .. " is stored as " .. g[2], function (a) f.set(a, g[1]) end, "ok", nil, nil,
              function (rec) return expect_eq(f.get(rec.data), g[2], f.path) end)
end
for _, f in ipairs({ "impact_assessment.assessed_on", "statement.stated_on", "pledge.submitted_on" }) do
  local obj, key = f:match("^(.-)%.(.*)$")
  submit_with(f .. " is required in its object", function (a) a[obj][key] = nil end, "invalid", f, "required")
end
submit_with("certifications[1].valid_until is optional",
            function (a) a.certifications[1].valid_until = nil end, "ok")

-- ---------------------------------------------------------------- planned_liu_application

local PLANNED = {
  { "2024-10", "2024-10" }, { "2024年10月", "2024-10" }, { "2024年1月", "2024-01" },
  { "令和6年10月", "2024-10" }, { "2024-10-15", "2024-10-15" }, { "令和6年10月15日", "2024-10-15" },
  { "2024-10-15T09:00+09:00", "2024-10-15" },
}
for _, p in ipairs(PLANNED) do
  submit_with("planned_liu_application " .. p[1] .. " is stored as " .. p[2],
              function (a) a.planned_liu_application = p[1] end, "ok", nil, nil,
              function (rec) return expect_eq(rec.data.planned_liu_application, p[2]) end)
end
for _, p in ipairs({ { "2024-13", "no such month" }, { "2024-00", "no such month" }, { "2024-02-30", "no such date" },
                     { "soon", "a month" }, { "0000-01", "year out of range" }, { "0999-01", "year out of range" }, { "9999-12", "year out of range" }, { "令和元年4月", "outside that era" } }) do
  submit_with("planned_liu_application " .. p[1] .. " is refused",
              function (a) a.planned_liu_application = p[1] end, "invalid", "planned_liu_application", p[2])
end
submit_with("planned_liu_application as a number is refused",
            function (a) a.planned_liu_application = 202410 end, "invalid", "planned_liu_application", "must be text")

-- ---------------------------------------------------------------- impact_assessment

for _, r in ipairs({ "low", "moderate", "high" }) do
  submit_with("impact result " .. r .. " is accepted", function (a) a.impact_assessment.result = r end, "ok")
end
-- The pack's labels stand for the codes (a sheet shows 「低位」).
for _, r in ipairs({ { "Low", "low" }, { "低位", "low" }, { "中位", "moderate" }, { " 高位 ", "high" } }) do
  submit_with("impact result `" .. r[1] .. "` is stored as " .. r[2], function (a) a.impact_assessment.result = r[1] end,
              "ok", nil, nil, function (rec) return expect_eq(rec.data.impact_assessment.result, r[2], "result") end)
end
for _, r in ipairs({ "medium", "低", "" }) do
  submit_with("impact result `" .. r .. "` is refused", function (a) a.impact_assessment.result = r end,
              "invalid", "impact_assessment.result", "must be low, moderate or high")
end
submit_with("impact result as a number is refused", function (a) a.impact_assessment.result = 1 end,
            "invalid", "impact_assessment.result", "must be low, moderate or high")
for _, k in ipairs({ "assessor", "assessor_type", "result", "assessed_on" }) do
  submit_with("impact_assessment." .. k .. " is required", function (a) a.impact_assessment[k] = nil end,
              "invalid", "impact_assessment." .. k, "required")
end
submit_with("any assessor type is stored (R2 judges it)",
            function (a) a.impact_assessment.assessor_type = "local_government" end, "ok", nil, nil,
            function (rec, ev) return expect_eq(ev.decision, "ineligible") end)
submit_with("an empty assessor type is refused",
            function (a) a.impact_assessment.assessor_type = "" end, "invalid", "impact_assessment.assessor_type", "empty")
submit_with("impact_assessment that is not an object is refused",
            function (a) a.impact_assessment = "low" end, "invalid", "impact_assessment", "object")
submit_with("impact_assessment as a list is refused",
            function (a) a.impact_assessment = { "low" } end, "invalid", "impact_assessment", "object")
submit_with("an unknown key in impact_assessment is refused",
            function (a) a.impact_assessment.score = 3 end, "invalid", "impact_assessment.score", "unknown field")
submit_with("impact_assessment is optional on submission",
            function (a) a.impact_assessment = nil end, "ok", nil, nil,
            function (rec, ev) return expect_eq(ev.decision, "ineligible") end)

-- ---------------------------------------------------------------- statement

submit_with("an unknown criteria version is refused",
            function (a) a.statement.criteria_version = "2099-01-01" end,
            "invalid", "statement.criteria_version", "unknown edition")
submit_with("a criteria version as a number is refused",
            function (a) a.statement.criteria_version = 2022 end,
            "invalid", "statement.criteria_version", "not a date")
-- An edition is the date it was issued on: Excel turns 2022-04-01 typed in
-- a cell into a date, and its CSV then says 2022/4/1.
submit_with("a criteria version written as Excel writes a date is the edition of that date",
            function (a) a.statement.criteria_version = "2022/4/1" end, "ok", nil, nil,
            function (rec, ev)
              return expect_eq(rec.data.statement.criteria_version, "2022-04-01") and expect_eq(ev.decision, "eligible")
            end)
submit_with("the criteria version is required",
            function (a) a.statement.criteria_version = nil end, "invalid", "statement.criteria_version", "required")
submit_with("the controls are required in a statement",
            function (a) a.statement.controls = nil end, "invalid", "statement.controls", "required")
submit_with("controls as a list are refused",
            function (a) a.statement.controls = { "met", "met" } end, "invalid", "statement.controls", "must be an object")
submit_with("an unknown identifier is refused",
            function (a) a.statement.controls["99.9.9"] = "met" end, "invalid", "statement.controls.99.9.9", "not an identifier")
submit_with("an unknown B identifier is refused",
            function (a) a.statement.controls["6.1.1.99.PB"] = "met" end, "invalid", "statement.controls.6.1.1.99.PB", "not an identifier")
-- Only identifiers of the edition: an optional detailed control (別表3) is
-- not one, and is refused with the nearest identifier (tests/60-notice.lua).
submit_with("an optional detailed control (別表3) is not an identifier of the edition",
            function (a) a.statement.controls["6.1.1.1"] = "met" end, "invalid", "statement.controls.6.1.1.1",
            "(did you mean 6.1.1?)")
submit_with("a value other than met / excluded is refused",
            function (a) a.statement.controls["3.1.1"] = "yes" end, "invalid", "statement.controls.3.1.1", "must be \"met\"")
submit_with("a boolean statement is refused",
            function (a) a.statement.controls["3.1.1"] = true end, "invalid", "statement.controls.3.1.1", "must be \"met\"")
submit_with("an objective excluded with a reason is accepted",
            function (a) a.statement.controls["6.1.1"] = { excluded = "該当業務なし" } end, "ok", nil, nil,
            function (rec, ev) return expect_eq(ev.decision, "eligible") end)
submit_with("an objective excluded without a reason is refused",
            function (a) a.statement.controls["6.1.1"] = { excluded = "" } end,
            "invalid", "statement.controls.6.1.1", "reason for the exclusion is missing")
submit_with("an objective excluded with a blank reason is refused",
            function (a) a.statement.controls["6.1.1"] = { excluded = "　" } end,
            "invalid", "statement.controls.6.1.1", "reason for the exclusion is missing")
submit_with("an exclusion with another key is refused",
            function (a) a.statement.controls["6.1.1"] = { excluded = "x", note = "y" } end,
            "invalid", "statement.controls.6.1.1", "must be \"met\"")
submit_with("a governance item cannot be excluded",
            function (a) a.statement.controls["3.1.1"] = { excluded = "理由" } end,
            "invalid", "statement.controls.3.1.1", "only a control objective")
submit_with("a management item cannot be excluded",
            function (a) a.statement.controls["4.4.1"] = { excluded = "理由" } end,
            "invalid", "statement.controls.4.4.1", "only a control objective")
submit_with("a B control cannot be excluded",
            function (a) a.statement.controls["9.4.2.2.B"] = { excluded = "理由" } end,
            "invalid", "statement.controls.9.4.2.2.B", "only a control objective")
submit_with("many bad controls are summed up",
            function (a) for i = 1, 30 do a.statement.controls["99.9." .. i] = "met" end end,
            "invalid", "statement.controls", "10 more errors")
submit_with("an unknown key in statement is refused",
            function (a) a.statement.auditor = "X" end, "invalid", "statement.auditor", "unknown field")

-- ---------------------------------------------------------------- pledge, certifications

submit_with("an empty pledge is refused", function (a) a.pledge = {} end, "invalid", "pledge.submitted_on", "required")
submit_with("a pledge that is not an object is refused", function (a) a.pledge = true end, "invalid", "pledge", "object")
submit_with("certifications that are not a list are refused",
            function (a) a.certifications = { name = "ISO/IEC 27001" } end, "invalid", "certifications", "list")
submit_with("a certification needs a name",
            function (a) a.certifications = { { valid_until = "2026-03-31" } } end, "invalid", "certifications[1].name", "required")
submit_with("the second certification's bad date names its index",
            function (a) a.certifications[2] = { name = "SOC 2", valid_until = "2026-02-30" } end,
            "invalid", "certifications[2].valid_until", "no such date")
submit_with("an empty list of certifications is accepted", function (a) a.certifications = {} end, "ok")
submit_with("several certifications are accepted",
            function (a) a.certifications = { { name = "ISO/IEC 27001" }, { name = "ISO/IEC 27017" }, { name = "SOC 2 Type 2" } } end, "ok")

-- Every problem is reported, each with its field.
scenario "all problems are reported at once" {
  { act = "submit", as = "secretariat", expect = "invalid", field = "service_name",
    params = { provider_name = "", planned_liu_application = "2024-13", pledge = { submitted_on = "2023-02-30" } } },
  { act = "submit", as = "secretariat", expect = "invalid", field = "provider_name",
    params = { provider_name = "", planned_liu_application = "2024-13", pledge = { submitted_on = "2023-02-30" } } },
  { act = "submit", as = "secretariat", expect = "invalid", field = "planned_liu_application",
    params = { provider_name = "", planned_liu_application = "2024-13", pledge = { submitted_on = "2023-02-30" } } },
  { act = "submit", as = "secretariat", expect = "invalid", field = "pledge.submitted_on", reason = "存在しない日付です",
    params = { provider_name = "", planned_liu_application = "2024-13", pledge = { submitted_on = "2023-02-30" } } },
}

-- A long text field is judged by the rules, not stopped by the host's
-- guard against costly patterns (found by fuzzing).
scenario "long text is judged by the rules, not stopped as a script error" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat",
    params = app_with(function (a) a.service_name = "  " .. string.rep("長い名前 ", 300) .. "  " end),
    expect = "invalid", field = "service_name", reason = "at most 200 characters" },
  { act = "submit", as = "secretariat",
    params = app_with(function (a) a.service_name = string.rep(" ", 2000) .. "名前" .. string.rep(" ", 2000) end),
    expect = "ok" },
}
