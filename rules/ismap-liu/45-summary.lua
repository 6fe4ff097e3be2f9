-- What `liuctl record get` shows of an application before its full data:
-- the kind's summary (10-application.lua), a list of { ja, en, value } lines
-- in reading order (value: a text, or { ja, en }).  liuctl prints eval's
-- decision, checks not met and incentives after these lines.  The 250
-- controls of the statement are given as counts, the excluded control
-- objectives by their identifiers (as in the service list).  Not part of
-- eval, which runs for every record at every deadline: only record.get asks.

-- The dates an application carries, in the order they happen.
local DATES = {
  { "impact_assessment.assessed_on", "影響度評価の実施日", "impact assessed on" },
  { "statement.stated_on", "言明日", "statement made on" },
  { "pledge.submitted_on", "誓約書の提出日", "pledge submitted on" },
  { "confirmed_on", "確認日", "confirmed on" },
  { "rejection.on", "却下日", "rejected on" },
  { "withdrawal.on", "取下げ日", "withdrawn on" },
}

-- A text or a number given, as text; nil for anything else.
local function given(v)
  return (type(v) == "string" and v ~= "" or type(v) == "number") and tostring(v) or nil
end

function application_summary(app, at, rec)
  local lines, none = {}, text("未記入", "not given")
  local function line(ja, en, value)
    lines[#lines + 1] = { ja = ja, en = en, value = value or none }
  end
  line("サービス名", "service", given(app.service_name))
  line("事業者名", "provider", given(app.provider_name))
  line("法人番号", "corporate number", given(app.provider_corporate_number))
  for _, d in ipairs(DATES) do
    local v = app
    for k in d[1]:gmatch("[^.]+") do v = type(v) == "table" and v[k] or nil end
    if type(v) == "string" then line(d[2], d[3], v) end
  end
  -- who gave the impact assessment, and by which route (通知 3)
  local ia = type(app.impact_assessment) == "table" and app.impact_assessment or {}
  local body, t = given(ia.assessor), ia.assessor_type
  local of = type(t) == "string" and (ASSESSOR_TYPES[t] or text(t, t))
  line("評価実施機関", "assessed by",
       body and of and text(body .. "（" .. of.ja .. "）", body .. " (" .. of.en .. ")") or body)
  local route = type(ia.route) == "string" and ASSESSMENT_ROUTES[ia.route]
  line("評価の経路", "route of the assessment", route and text(route.ja, route.en) or given(ia.route))
  line(PLAN_LABEL.ja, "planned ISMAP-LIU application",
       read_month(app.planned_liu_application or "", true))
  line("管理基準への適合の言明", "statement", statement_text(app))
  return lines
end
