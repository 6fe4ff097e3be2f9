-- eligibility.lua — the Redis side of `make bench`: the period and R1–R4 of the
-- ISMAP-LIU special measure, as rules/ismap-liu/20-checks.lua judges them, in a
-- Redis Lua script (Lua 5.1, cjson embedded by Redis).
--
--   EVALSHA <sha> 1 app:LIU-000123 <at: seconds since 1970>
--
-- The application is a hash with the same fields as liud's record data: text
-- fields as they are, objects and lists (impact_assessment, statement, pledge,
-- liu_filings, incentives, certifications) as JSON, plus `state`.  The
-- statement (261 identifiers and more) is decoded with cjson on every call,
-- as liud decodes its stored record on every eval.  The identifier lists of
-- the criteria are put in below by scripts/bench/bench.pl from
-- rules/ismap-liu/data/ismap-criteria-2022-04-01.csv.
--
-- Returns the eval result as JSON: {decision, checks:[{id, ok, reason:{ja,en}}],
-- measures_in_force, incentives}; reasons have the pack's wording, so that the
-- benchmark can check that both sides judge every record alike.

--@CRITERIA@

local JST = 9 * 3600

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- "YYYY-MM-DD" (a real day, year >= 1900) or nil
local function civil_date(v)
  if type(v) ~= "string" then return nil end
  local y, m, d = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if y < 1900 or m < 1 or m > 12 or d < 1 or d > 31 then return nil end
  local y2, m2, d2 = civil_from_days(days_from_civil(y, m, d))
  if y2 ~= y or m2 ~= m or d2 ~= d then return nil end
  return v
end

local function day_start(d)          -- 00:00 JST of "YYYY-MM-DD", in seconds
  return days_from_civil(tonumber(d:sub(1, 4)), tonumber(d:sub(6, 7)), tonumber(d:sub(9, 10))) * 86400 - JST
end
local function day_end(d) return day_start(d) + 86400 end

local function date_of(t)
  local y, m, d = civil_from_days(math.floor((t + JST) / 86400))
  return string.format("%04d-%02d-%02d", y, m, d)
end

-- The measures (00-pack.lua): the special measure and incentives ① ② from
-- 2023-05-19 through 2025-03-31 (JST); ③ assessor eligibility from 2023-05-19.
local PERIOD_FROM, PERIOD_TILL = "2023-05-19", "2025-03-31"
local STARTS, ENDS = day_start(PERIOD_FROM), day_end(PERIOD_TILL)
local ASSESSOR_FROM = day_start("2023-05-19")
local PERIOD_TEXT = PERIOD_FROM .. "〜" .. PERIOD_TILL

local function in_period(t) return t >= STARTS and t < ENDS end
local function in_period_during(s, e) return e > STARTS and s < ENDS end
local function in_period_on(d) return in_period_during(day_start(d), day_end(d)) end

local ALLOWED = { "national_agency", "independent_agency", "designated_corporation" }
local ALLOWED_BEFORE = { "national_agency" }
local ASSESSOR_TYPES = {
  national_agency        = { ja = "国の行政機関", en = "national administrative organ" },
  independent_agency     = { ja = "独立行政法人", en = "incorporated administrative agency" },
  designated_corporation = { ja = "指定法人", en = "designated corporation" },
}
local RESULTS = { low = "低位", moderate = "中位", high = "高位" }

local function text(ja, en) return { ja = ja, en = en } end
local function pass() return { ok = true, reason = text("", "") } end
local function fail(r) return { ok = false, reason = r } end
local function join(list)
  local ja, en = {}, {}
  for i, t in ipairs(list) do ja[i], en[i] = t.ja, t.en end
  return text(table.concat(ja, "。"), table.concat(en, "; "))
end
local function contains(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end
local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
local function filled(s) return type(s) == "string" and trim(s) ~= "" end

local at = tonumber(ARGV[1])
local today = date_of(at)

local f = redis.call("HMGET", KEYS[1], "state", "impact_assessment", "statement", "pledge",
                     "planned_liu_application", "liu_filings", "incentives")
if not f[1] then return redis.error_reply("not found: no record " .. KEYS[1]) end
local function json_field(v)
  if not v then return nil end
  local ok, t = pcall(cjson.decode, v)
  if ok and type(t) == "table" then return t end
  return nil
end
local state = f[1]
local app = {
  impact_assessment = json_field(f[2]), statement = json_field(f[3]), pledge = json_field(f[4]),
  planned_liu_application = f[5] or nil, liu_filings = json_field(f[6]), incentives = json_field(f[7]),
}

-- ------------------------------------------------------------------ period
local function check_period()
  if in_period(at) then return pass() end
  if at < STARTS then
    return fail(text("特別措置の運用期間（" .. PERIOD_TEXT .. "）の開始前です",
                     "the special measure (" .. PERIOD_TEXT .. ") has not started yet"))
  end
  return fail(text("特別措置の運用期間（" .. PERIOD_TEXT .. "）は終了しています",
                   "the special measure (" .. PERIOD_TEXT .. ") has ended"))
end

-- ------------------------------------------------------------------ R1
local function filing_in_period(upto)
  local list = app.liu_filings
  if type(list) ~= "table" then return false end
  for _, x in ipairs(list) do
    if type(x) == "table" then
      local d = civil_date(x.filed_on)
      if d and d <= upto and in_period_on(d) then return true end
    end
  end
  return false
end

local function check_r1()
  if filing_in_period(today) then return pass() end
  local v = app.planned_liu_application
  if v == nil then
    return fail(text("ISMAP-LIU 登録申請（事前申請を含む）の予定時期（planned_liu_application）がなく、運用期間内の申請の記録もありません",
                     "no planned time of the ISMAP-LIU application or pre-application (planned_liu_application), and no such filing recorded within the period"))
  end
  local s, e
  local y, m = v:match("^(%d%d%d%d)%-(%d%d)$")
  if y then
    y, m = tonumber(y), tonumber(m)
    local ny, nm = y, m + 1
    if nm == 13 then ny, nm = y + 1, 1 end
    s = days_from_civil(y, m, 1) * 86400 - JST
    e = days_from_civil(ny, nm, 1) * 86400 - JST
  elseif civil_date(v) then
    s, e = day_start(v), day_end(v)
  else
    return fail(text("ISMAP-LIU 登録申請の予定時期（planned_liu_application）が読めません",
                     "the planned time of the ISMAP-LIU application (planned_liu_application) cannot be read"))
  end
  if not in_period_during(s, e) then
    return fail(text("ISMAP-LIU 登録申請の予定時期（" .. v .. "）が運用期間（" .. PERIOD_TEXT .. "）内ではありません",
                     "the planned ISMAP-LIU application (" .. v .. ") is not within the period (" .. PERIOD_TEXT .. ")"))
  end
  return pass()
end

-- ------------------------------------------------------------------ R2
local function check_r2()
  local ia = app.impact_assessment
  if not ia then
    return fail(text("業務・情報の影響度評価（impact_assessment）がありません",
                     "no business/information impact assessment (impact_assessment)"))
  end
  local problems = {}
  if ia.result == nil then
    problems[#problems + 1] = text("影響度評価の結果（impact_assessment.result）がありません",
                                   "the result of the impact assessment (impact_assessment.result) is missing")
  elseif ia.result ~= "low" then
    problems[#problems + 1] = text(
      "影響度評価の結果が「低位」ではありません（" .. (RESULTS[ia.result] or tostring(ia.result)) .. "）",
      "the impact assessment result is not low (" .. tostring(ia.result) .. ")")
  end
  local on = civil_date(ia.assessed_on)
  if ia.assessed_on == nil then
    problems[#problems + 1] = text("影響度評価の実施日（impact_assessment.assessed_on）がありません",
                                   "the date of the impact assessment (impact_assessment.assessed_on) is missing")
  elseif not on then
    problems[#problems + 1] = text("影響度評価の実施日（impact_assessment.assessed_on）が日付として読めません",
                                   "the date of the impact assessment (impact_assessment.assessed_on) is not a date")
  elseif on > today then
    problems[#problems + 1] = text("影響度評価の実施日（" .. on .. "）が判定日（" .. today .. "）より後です",
                                   "the impact assessment (" .. on .. ") is dated after " .. today)
  end
  local who = ia.assessor_type
  if who == nil then
    problems[#problems + 1] = text("評価実施機関の種別（impact_assessment.assessor_type）がありません",
                                   "the type of the assessing body (impact_assessment.assessor_type) is missing")
  elseif on then
    local allowed = day_end(on) > ASSESSOR_FROM and ALLOWED or ALLOWED_BEFORE
    if not contains(allowed, who) then
      local ja, en = {}, {}
      for i, t in ipairs(allowed) do
        ja[i], en[i] = ASSESSOR_TYPES[t].ja, ASSESSOR_TYPES[t].en .. " (" .. t .. ")"
      end
      local name = ASSESSOR_TYPES[who]
      problems[#problems + 1] = text(
        "評価実施機関（" .. (name and name.ja or tostring(who)) .. "）は " .. on .. " に影響度評価を実施できる機関ではありません（実施できるのは " .. table.concat(ja, "・") .. "）",
        "the assessing body (" .. tostring(who) .. ") was not allowed to assess on " .. on .. " (allowed: " .. table.concat(en, ", ") .. ")")
    end
  end
  if #problems > 0 then return fail(join(problems)) end
  return pass()
end

-- ------------------------------------------------------------------ R3
local function excluded_with_reason(s) return type(s) == "table" and filled(s.excluded) end

local function check_r3()
  local st = app.statement
  if not st then
    return fail(text("管理基準への適合の言明（statement）がありません",
                     "no statement of compliance with the ISMAP criteria (statement)"))
  end
  local v = st.criteria_version
  if v == nil then
    return fail(text("言明が依拠する管理基準の版（statement.criteria_version）がありません",
                     "the edition of the criteria of the statement (statement.criteria_version) is missing"))
  end
  if v ~= CRITERIA_VERSION then
    return fail(text("管理基準の版「" .. tostring(v) .. "」は不明です（使える版: " .. CRITERIA_VERSION .. "）",
                     "unknown edition of the criteria `" .. tostring(v) .. "` (known: " .. CRITERIA_VERSION .. ")"))
  end
  local problems = {}
  local on = civil_date(st.stated_on)
  if st.stated_on == nil then
    problems[#problems + 1] = text("言明日（statement.stated_on）がありません",
                                   "the date of the statement (statement.stated_on) is missing")
  elseif not on then
    problems[#problems + 1] = text("言明日（statement.stated_on）が日付として読めません",
                                   "the date of the statement (statement.stated_on) is not a date")
  elseif on > today then
    problems[#problems + 1] = text("言明日（" .. on .. "）が判定日（" .. today .. "）より後です",
                                   "the statement (" .. on .. ") is dated after " .. today)
  end
  local controls = st.controls
  if type(controls) ~= "table" then
    problems[#problems + 1] = text("管理策ごとの言明（statement.controls）がありません",
                                   "the statement lists no criteria (statement.controls)")
    return fail(join(problems))
  end
  local gov, mgmt, obj, noreason, b = {}, {}, {}, {}, {}
  for _, id in ipairs(GOVERNANCE) do
    if controls[id] ~= "met" then gov[#gov + 1] = id end
  end
  for _, id in ipairs(MANAGEMENT) do
    if controls[id] ~= "met" then mgmt[#mgmt + 1] = id end
  end
  for _, id in ipairs(OBJECTIVES) do
    local s = controls[id]
    if s ~= "met" and not excluded_with_reason(s) then
      if type(s) == "table" and s.excluded ~= nil then noreason[#noreason + 1] = id
      else obj[#obj + 1] = id end
    end
  end
  for _, c in ipairs(B_CONTROLS) do
    if controls[c[1]] ~= "met" and not excluded_with_reason(controls[c[2]]) then b[#b + 1] = c[1] end
  end
  local ja, en = {}, {}
  local function part(list, pja, pen)
    if #list > 0 then
      local ids = table.concat(list, ", ")
      ja[#ja + 1] = string.format("%s %d件（%s）", pja, #list, ids)
      en[#en + 1] = string.format("%s: %d (%s)", pen, #list, ids)
    end
  end
  part(gov, "ガバナンス基準", "governance criteria")
  part(mgmt, "マネジメント基準", "management criteria")
  part(obj, "統制目標", "control objectives")
  part(noreason, "除外の理由がない統制目標", "control objectives excluded without a reason")
  part(b, "詳細管理策（末尾B）", "detailed controls ending in B")
  if #ja > 0 then
    problems[#problems + 1] = text(
      CRITERIA_VERSION .. "版の管理基準のうち、満たすことが言明されていないもの: " .. table.concat(ja, "、"),
      "not stated as met in the " .. CRITERIA_VERSION .. " criteria: " .. table.concat(en, "; "))
  end
  if #problems > 0 then return fail(join(problems)) end
  return pass()
end

-- ------------------------------------------------------------------ R4
local function check_r4()
  local pl = app.pledge
  if not pl or pl.submitted_on == nil then
    return fail(text("誓約書の提出日（pledge.submitted_on）がありません（誓約書が未提出です）",
                     "no pledge: its submission date (pledge.submitted_on) is missing"))
  end
  local d = civil_date(pl.submitted_on)
  if not d then
    return fail(text("誓約書の提出日（pledge.submitted_on）が日付として読めません",
                     "the submission date of the pledge (pledge.submitted_on) is not a date"))
  end
  if d > today then
    return fail(text("誓約書の提出日（" .. d .. "）が判定日（" .. today .. "）より後です（まだ提出されていません）",
                     "the pledge is dated " .. d .. ", after " .. today .. " (not submitted yet)"))
  end
  return pass()
end

-- ------------------------------------------------------------------ the result
local checks, eligible = {}, true
for _, c in ipairs({ { "period", check_period }, { "R1", check_r1 }, { "R2", check_r2 },
                     { "R3", check_r3 }, { "R4", check_r4 } }) do
  local r = c[2]()
  r.id = c[1]
  eligible = eligible and r.ok
  checks[#checks + 1] = r
end

local measures = {}
if in_period(at) then
  measures[#measures + 1] = "special-measure"
  measures[#measures + 1] = "incentive-1"
  measures[#measures + 1] = "incentive-2"
end
if at >= ASSESSOR_FROM then measures[#measures + 1] = "assessor-eligibility" end

local incentives = {}
for _, name in ipairs({ "audit_scope", "internal_audit_report" }) do
  local u = type(app.incentives) == "table" and app.incentives[name]
  local used = type(u) == "table" and type(u.used_on) == "string" and u.used_on or nil
  incentives[name] = { available = state == "confirmed" and in_period(at) and used == nil,
                       used_on = used or cjson.null }
end

return cjson.encode({ id = KEYS[1], decision = eligible and "eligible" or "ineligible",
                      checks = checks, measures_in_force = measures, incentives = incentives })
