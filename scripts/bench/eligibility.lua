-- eligibility.lua — the Redis side of `make bench`: the period and R1–R4 of the
-- ISMAP-LIU special measure, as rules/ismap-liu/20-checks.lua judges them, in a
-- Redis Lua script (Lua 5.1, cjson embedded by Redis), and the amend that
-- liud's pack runs, doing the same work.  One script, three calls:
--
--   EVALSHA <sha> 1 app:LIU-000123 stored <at>
--       eval of a stored application (a hash: text fields as they are,
--       objects and lists as JSON, plus `state` and `confirmed_on`); the
--       JSON fields are decoded with cjson on every call.
--   EVALSHA <sha> 0 inline <at> <record JSON>
--       eval of a record sent with the call (what-if, a new or an amended
--       record): the whole record is decoded with cjson, as liud decodes
--       the one given to its `eval`.
--   EVALSHA <sha> 3 app:LIU-000123 audit audit_head amend <at> <field> <value>
--       liud's `act amend` of one field: the period and the field are
--       validated, a confirmed application whose planned month changes goes
--       back to be confirmed again (state submitted), the revision is
--       bumped, the field written (HSET), and an audit entry appended whose
--       hash chains it to the one before (as liud's audit log).  With
--       `appendfsync always` the write is durable when the reply is sent.
--       Replies {"rev":…,"seq":…,"hash":…} or an error naming the reason.
--
-- <at> is in seconds since 1970.  The eval calls return the eval result as
-- JSON: {decision, checks:[{id, ok, reason:{ja,en}}], measures_in_force,
-- incentives}; reasons have the pack's English wording, so that the
-- benchmark can check that both sides judge every record alike (only the
-- English reasons are compared).  The identifier lists of the criteria are
-- put in below by scripts/bench/bench.pl from the pack's CSV.
--
-- Hashing: Redis scripts have SHA-1 only (redis.sha1hex); liud seals its
-- entries with SHA-256, which costs it more.

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
local PERIOD_TEXT = PERIOD_FROM .. " to " .. PERIOD_TILL
local LIU_START = "2022-11-01"
local CRITERIA_ISSUED = CRITERIA_VERSION          -- editions.csv: issued on their version's day

local function in_period(t) return t >= STARTS and t < ENDS end
local function in_period_during(s, e) return e > STARTS and s < ENDS end
local function in_period_on(d) return in_period_during(day_start(d), day_end(d)) end

local ALLOWED = { "national_agency", "independent_agency", "designated_corporation" }
local ALLOWED_BEFORE = { "national_agency" }
local ASSESSOR_EN = {
  national_agency        = "national administrative organ",
  independent_agency     = "incorporated administrative agency",
  designated_corporation = "designated corporation",
}
local ROUTES = { agency = true, consultation_desk = true }

local function text(ja, en) return { ja = ja, en = en } end
local function pass() return { ok = true, reason = text("", "") } end
local function fail(r) return { ok = false, reason = r } end
local function en(s) return text(s, s) end       -- the English wording is what is compared
local function join(list)
  local ja, e = {}, {}
  for i, t in ipairs(list) do ja[i], e[i] = t.ja, t.en end
  return text(table.concat(ja, "。"), table.concat(e, "; "))
end
local function contains(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end
local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
local function filled(s) return type(s) == "string" and trim(s) ~= "" end
local function tbl(v) return type(v) == "table" and v or nil end
local function shown(v)
  if type(v) == "table" then return "{…}" end
  return tostring(v)
end

-- "YYYY-MM" or "YYYY-MM-DD" (the stored forms), or nil and why
local function planned_time(v)
  if type(v) ~= "string" then return nil, en("must be text (e.g. 2024-10)") end
  local y, m = v:match("^(%d%d%d%d)%-(%d%d)$")
  if y then
    if tonumber(m) < 1 or tonumber(m) > 12 then return nil, en("no such month") end
    return v
  end
  if civil_date(v) then return v end
  return nil, en("not a date (write a month, 2024-10, or a date)")
end
local function planned_span(p)
  if #p == 7 then
    local y, m = tonumber(p:sub(1, 4)), tonumber(p:sub(6, 7))
    local ny, nm = y, m + 1
    if nm == 13 then ny, nm = y + 1, 1 end
    return days_from_civil(y, m, 1) * 86400 - JST, days_from_civil(ny, nm, 1) * 86400 - JST
  end
  return day_start(p), day_end(p)
end

local function filing_in_period(app, upto)
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

-- ------------------------------------------------------------------ the checks
local function check_period(app, at)
  if in_period(at) then return pass() end
  if at < STARTS then return fail(en("the special measure (" .. PERIOD_TEXT .. ") has not started yet")) end
  return fail(en("the special measure (" .. PERIOD_TEXT .. ") has ended"))
end

local function check_r1(app, at)
  local today = date_of(at)
  if filing_in_period(app, today) then return pass() end
  local v = app.planned_liu_application
  if v == nil then
    return fail(en("no planned time of the ISMAP-LIU application or pre-application (planned_liu_application), and no such filing recorded within the period"))
  end
  local p, why = planned_time(v)
  if not p then
    return fail(en("the planned time of the ISMAP-LIU application (planned_liu_application) cannot be read: " .. why.en))
  end
  local s, e = planned_span(p)
  if not in_period_during(s, e) then
    return fail(en("the planned ISMAP-LIU application (" .. p .. ") is not within the period (" .. PERIOD_TEXT .. ")"))
  end
  if e <= at then
    return fail(en("the planned time of the ISMAP-LIU filing (" .. p .. ") passed before " .. today ..
                   ", and no filing is recorded: record the new planned time if the plan changed"))
  end
  return pass()
end

local function check_r2(app, at)
  local today = date_of(at)
  local ia = tbl(app.impact_assessment)
  if not ia then return fail(en("no business/information impact assessment (impact_assessment)")) end
  local problems = {}
  if ia.result == nil then
    problems[#problems + 1] = en("the result of the impact assessment (impact_assessment.result) is missing")
  elseif ia.result ~= "low" then
    problems[#problems + 1] = en("the impact assessment result is not low (" .. shown(ia.result) .. ")")
  end
  local on = civil_date(ia.assessed_on)
  if ia.assessed_on == nil then
    problems[#problems + 1] = en("the date of the impact assessment (impact_assessment.assessed_on) is missing")
  elseif not on then
    problems[#problems + 1] = en("the date of the impact assessment (impact_assessment.assessed_on) is not a date")
  elseif on < LIU_START then
    problems[#problems + 1] = en("the impact assessment (" .. on .. ") is before ISMAP-LIU began (" .. LIU_START .. ")")
    on = nil
  elseif on > today then
    problems[#problems + 1] = en("the impact assessment (" .. on .. ") is dated after " .. today)
  end
  if ia.route == nil then
    problems[#problems + 1] = en("the route of the assessment (impact_assessment.route) is missing: record agency or consultation_desk")
  elseif not ROUTES[ia.route] then
    problems[#problems + 1] = en("the route of the assessment `" .. shown(ia.route) .. "` is neither agency nor consultation_desk")
  end
  local who = ia.assessor_type
  if who == nil then
    problems[#problems + 1] = en("the type of the assessing body (impact_assessment.assessor_type) is missing")
  elseif on then
    local allowed = day_end(on) > ASSESSOR_FROM and ALLOWED or ALLOWED_BEFORE
    if not contains(allowed, who) then
      local names = {}
      for i, t in ipairs(allowed) do names[i] = ASSESSOR_EN[t] .. " (" .. t .. ")" end
      problems[#problems + 1] = en("the assessing body, " .. shown(who) .. ", was not allowed to assess on " .. on ..
                                   "; allowed: " .. table.concat(names, ", "))
    end
  end
  if #problems > 0 then return fail(join(problems)) end
  return pass()
end

local function excluded_with_reason(s) return type(s) == "table" and filled(s.excluded) end

local function check_r3(app, at)
  local today = date_of(at)
  local st = tbl(app.statement)
  if not st then return fail(en("no statement of compliance with the ISMAP criteria (statement)")) end
  local v = st.criteria_version
  if v == nil then
    return fail(en("the edition of the criteria of the statement (statement.criteria_version) is missing"))
  end
  if v ~= CRITERIA_VERSION then
    return fail(en("unknown edition of the criteria `" .. shown(v) .. "` (known: " .. CRITERIA_VERSION .. ")"))
  end
  local problems = {}
  local on = civil_date(st.stated_on)
  if st.stated_on == nil then
    problems[#problems + 1] = en("the date of the statement (statement.stated_on) is missing")
  elseif not on then
    problems[#problems + 1] = en("the date of the statement (statement.stated_on) is not a date")
  elseif on < CRITERIA_ISSUED then
    problems[#problems + 1] = en("the statement (" .. on .. ") is before the edition it is made against (" .. CRITERIA_ISSUED .. ")")
  elseif on > today then
    problems[#problems + 1] = en("the statement (" .. on .. ") is dated after " .. today)
  end
  local controls = tbl(st.controls)
  if not controls then
    problems[#problems + 1] = en("the statement lists no criteria (statement.controls)")
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
    if not excluded_with_reason(controls[c[2]]) and controls[c[1]] ~= "met" then b[#b + 1] = c[1] end
  end
  local parts = {}
  local function part(list, name)
    if #list > 0 then
      parts[#parts + 1] = string.format("%s: %d (%s)", name, #list, table.concat(list, ", "))
    end
  end
  part(gov, "governance criteria")
  part(mgmt, "management criteria")
  part(obj, "control objectives")
  part(noreason, "control objectives excluded without a reason")
  part(b, "detailed controls ending in B")
  if #parts > 0 then
    problems[#problems + 1] = en("not stated as met in the ISMAP criteria, edition " .. CRITERIA_VERSION .. ": " ..
                                 table.concat(parts, "; "))
  end
  if #problems > 0 then return fail(join(problems)) end
  return pass()
end

local function check_r4(app, at)
  local today = date_of(at)
  local pl = tbl(app.pledge)
  if not pl or pl.submitted_on == nil then
    return fail(en("no pledge: its submission date (pledge.submitted_on) is missing"))
  end
  local d = civil_date(pl.submitted_on)
  if not d then return fail(en("the submission date of the pledge (pledge.submitted_on) is not a date")) end
  local st = tbl(app.statement)
  local stated = st and civil_date(st.stated_on)
  local early
  if d < PERIOD_FROM then early = "is before the special measure began (" .. PERIOD_FROM .. ")"
  elseif stated and d < stated then early = "is before the statement it pledges (" .. stated .. ")" end
  if early then return fail(en("the pledge (" .. d .. ") " .. early)) end
  if d > today then
    return fail(en("the pledge is dated " .. d .. ", after " .. today .. " (not submitted yet)"))
  end
  return pass()
end

local CHECKS = { { "period", check_period }, { "R1", check_r1 }, { "R2", check_r2 },
                 { "R3", check_r3 }, { "R4", check_r4 } }

-- The checks of `app` at `at`: the list and whether all pass.
local function judge(app, at)
  local checks, eligible = {}, true
  for _, c in ipairs(CHECKS) do
    local r = c[2](app, at)
    r.id = c[1]
    eligible = eligible and r.ok
    checks[#checks + 1] = r
  end
  return checks, eligible
end

-- eval's result: the checks, the measures in force, the incentives.
local function eval_result(id, app, state, at)
  local checks, eligible = judge(app, at)
  local measures = {}
  if in_period(at) then
    measures[#measures + 1] = "special-measure"
    measures[#measures + 1] = "incentive-1"
    measures[#measures + 1] = "incentive-2"
  end
  if at >= ASSESSOR_FROM then measures[#measures + 1] = "assessor-eligibility" end
  local today = date_of(at)
  local from = type(app.confirmed_on) == "string" and app.confirmed_on or nil
  local listed = state == "confirmed" and (from == nil or today >= from)
  local incentives = {}
  for _, name in ipairs({ "audit_scope", "internal_audit_report" }) do
    local u = tbl(app.incentives) and tbl(app.incentives[name])
    local used = u and type(u.used_on) == "string" and u.used_on or nil
    if used and used > today then used = nil end
    incentives[name] = { available = listed and in_period(at) and used == nil, used_on = used or cjson.null }
  end
  return cjson.encode({ id = id or cjson.null, decision = eligible and "eligible" or "ineligible",
                        checks = checks, measures_in_force = measures, incentives = incentives })
end

local JSON_FIELDS = { "impact_assessment", "statement", "pledge", "liu_filings", "incentives" }
local function json_field(v)
  if not v then return nil end
  local ok, t = pcall(cjson.decode, v)
  if ok and type(t) == "table" then return t end
  return nil
end
-- The stored application's fields the checks read, decoded.
local function stored_app(key)
  local f = redis.call("HMGET", key, "state", "confirmed_on", "planned_liu_application", unpack(JSON_FIELDS))
  if not f[1] then return nil end
  local app = { confirmed_on = f[2] or nil, planned_liu_application = f[3] or nil }
  for i, k in ipairs(JSON_FIELDS) do app[k] = json_field(f[3 + i]) end
  return app, f[1]
end

-- ------------------------------------------------------------------ the calls
local mode = ARGV[1]
local at = tonumber(ARGV[2])

if mode == "stored" then
  local app, state = stored_app(KEYS[1])
  if not app then return redis.error_reply("not found: no record " .. KEYS[1]) end
  return eval_result(KEYS[1], app, state, at)
end

if mode == "inline" then
  local ok, rec = pcall(cjson.decode, ARGV[3])
  if not ok or type(rec) ~= "table" then return redis.error_reply("invalid params: record: not a JSON object") end
  local app = type(rec.data) == "table" and rec.data or rec
  return eval_result(nil, app, rec.state, at)
end

if mode == "amend" then
  local key, field, value = KEYS[1], ARGV[3], ARGV[4]
  if not in_period(at) then
    return redis.error_reply("refused: the special measure (" .. PERIOD_TEXT .. ") is not in force")
  end
  if field ~= "planned_liu_application" then
    return redis.error_reply("invalid params: " .. tostring(field) .. ": not a field this script amends")
  end
  local p, why = planned_time(value)
  if not p then return redis.error_reply("invalid params: planned_liu_application: " .. why.en) end
  local h = redis.call("HMGET", key, "state", "rev", field)
  local state = h[1]
  if not state then return redis.error_reply("not found: no record " .. key) end
  if state ~= "submitted" and state ~= "confirmed" then
    return redis.error_reply("refused: amend is not allowed in state " .. state)
  end
  -- What R1–R4 read (here the planned month), changed on a confirmed
  -- application, sends it back to be confirmed again, as the pack does
  -- (30-actions.lua): state submitted, confirmed_on cleared, the reason in
  -- the audit entry.
  local reconfirm = state == "confirmed" and h[3] ~= p
  local rev = (tonumber(h[2]) or 1) + 1
  local time = date_of(at) .. "T" .. string.format("%02d:%02d:%02d+09:00",
    math.floor(((at + JST) % 86400) / 3600), math.floor(((at + JST) % 3600) / 60), (at + JST) % 60)
  redis.call("HSET", key, field, p, "rev", rev, "updated_at", time)
  if reconfirm then
    redis.call("HSET", key, "state", "submitted")
    redis.call("HDEL", key, "confirmed_on")
  end
  local head = redis.call("HMGET", KEYS[3], "seq", "hash")
  local seq = (tonumber(head[1]) or 0) + 1
  local prev = head[2] or string.rep("0", 40)
  local entry = cjson.encode({ seq = seq, time = time, prev = prev, id = key:sub(5), action = "amend",
                               rev = rev, changes = { [field] = { was = h[3] or cjson.null, now = p } },
                               events = reconfirm and { { type = "reconfirmation_needed", fields = { field } } } or nil })
  local hash = redis.sha1hex(entry)
  redis.call("RPUSH", KEYS[2], entry:sub(1, -2) .. ',"hash":"' .. hash .. '"}')
  redis.call("HSET", KEYS[3], "seq", seq, "hash", hash)
  return cjson.encode({ rev = rev, seq = seq, hash = hash })
end

return redis.error_reply("usage: stored | inline | amend (see scripts/bench/eligibility.lua)")
