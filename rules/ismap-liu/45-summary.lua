-- What `liuctl record get` shows of an application before its full data:
-- the kind's summary (10-application.lua), a list of { ja, en, value } lines
-- in reading order (value: a text, or { ja, en }).  liuctl prints eval's
-- decision, checks not met and incentives after these lines.  The 250
-- controls of the statement are given as counts, the excluded control
-- objectives by their identifiers (as in the service list).  Not part of
-- eval, which runs for every record at every deadline: only record.get asks.

-- The dates an application carries, in the order they happen.
local DATES = {
  { path = { "impact_assessment", "assessed_on" }, ja = "影響度評価の実施日", en = "impact assessed on" },
  { path = { "statement", "stated_on" },           ja = "言明日",             en = "statement made on" },
  { path = { "pledge", "submitted_on" },           ja = "誓約書の提出日",     en = "pledge submitted on" },
  { path = { "confirmed_on" },                     ja = "確認日",             en = "confirmed on" },
  { path = { "rejection", "on" },                  ja = "却下日",             en = "rejected on" },
  { path = { "withdrawal", "on" },                 ja = "取下げ日",           en = "withdrawn on" },
}

local function at_path(app, path)
  local v = app
  for _, k in ipairs(path) do
    if type(v) ~= "table" then return nil end
    v = v[k]
  end
  return v
end

local function shown(v, none)
  if type(v) == "string" and v ~= "" then return v end
  if type(v) == "number" then return tostring(v) end
  return none
end

function application_summary(app, at, rec)
  local none = text("未記入", "not given")
  local lines = {}
  local function line(ja, en, value) lines[#lines + 1] = { ja = ja, en = en, value = value } end
  line("サービス名", "service", shown(app.service_name, none))
  line("事業者名", "provider", shown(app.provider_name, none))
  line("法人番号", "corporate number", shown(app.provider_corporate_number, none))
  for _, d in ipairs(DATES) do
    local v = at_path(app, d.path)
    if type(v) == "string" then line(d.ja, d.en, v) end
  end
  -- who gave the impact assessment, and by which route (通知 3)
  local ia = type(app.impact_assessment) == "table" and app.impact_assessment or {}
  local kind_of = type(ia.assessor_type) == "string" and ASSESSOR_TYPES[ia.assessor_type]
  local body = shown(ia.assessor, nil)
  if body and kind_of then
    body = text(body .. "（" .. kind_of.ja .. "）", body .. " (" .. kind_of.en .. ")")
  elseif body and type(ia.assessor_type) == "string" then
    body = text(body .. "（" .. ia.assessor_type .. "）", body .. " (" .. ia.assessor_type .. ")")
  end
  line("評価実施機関", "assessed by", body or none)
  local route = type(ia.route) == "string" and ASSESSMENT_ROUTES[ia.route]
  line("評価の経路", "route of the assessment",
       route and text(route.ja, route.en) or shown(ia.route, none))
  local plan = read_month(app.planned_liu_application or "", true)
  line(PLAN_LABEL.ja, "planned ISMAP-LIU application", plan or none)
  local st = type(app.statement) == "table" and app.statement or {}
  local ed = type(st.criteria_version) == "string" and CRITERIA[st.criteria_version]
  line("管理基準への適合の言明", "statement",
       ed and type(st.controls) == "table" and compliance_text(st.controls, ed) or text("言明なし", "no statement"))
  return lines
end
