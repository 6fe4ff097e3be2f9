-- What the secretariat (事務局) can do to an application, with its guards.
--
--   submit ──▶ submitted ──confirm──▶ confirmed ──(end of period)──▶ ended
--                 │  ╲                    │  ╲
--                 │   reject / withdraw   │   reject (確認の取消) / withdraw
--                 │                       │
--        (end of period) ▶ lapsed         ▼
--                                    rejected / withdrawn
--
--   amend                  in submitted and confirmed, while the period runs
--   file_liu_application   in submitted, confirmed and ended (records a fact)
--   use_incentive          in confirmed, while the incentive's measure is in force
--
-- Nothing new after the period: submit, amend, confirm and use_incentive are
-- refused once the special measure (or the incentive) is no longer in force.
-- admin may do everything the secretariat may.

local SECRETARIAT = { "secretariat" }
-- What R1–R4 read (20-checks.lua): changed on a confirmed application, it is
-- confirmed again.
REQUIREMENT_FIELDS = { "impact_assessment", "statement", "pledge", "planned_liu_application" }

-- ---------------------------------------------------------------- helpers

-- Refuses a parameter the action does not know.
local function only_params(p, names)
  for k in pairs(p) do
    if not contains(names, k) then
      local known = table.concat(names, ", ")
      refuse { ja = tostring(k) .. ": 不明なパラメータです（使えるもの: " .. known .. "）",
               en = tostring(k) .. ": unknown parameter (known: " .. known .. ")" }
    end
  end
end

-- A required date parameter, as YYYY-MM-DD, not after the day of `at`.
local function date_param(p, name, at)
  local v = p[name]
  if v == nil then
    refuse { ja = name .. ": 日付は必須です", en = name .. ": a date is required" }
  end
  local d, why = civil_date(v)
  if not d then
    refuse { ja = name .. ": 日付として読めません（" .. why.ja .. "）",
             en = name .. ": not a date (" .. why.en .. ")" }
  end
  if d > date_of(at) then
    refuse { ja = name .. ": " .. ja_date(d) .. "は将来の日付のため、記録できません",
             en = name .. ": " .. d .. " is in the future" }
  end
  return d
end

-- Refuses when the special measure is not in force at `at`.
local function during_period(at, what)
  if not in_force("special-measure", at) then
    local period = period_text("special-measure")
    refuse { ja = "特別措置の運用期間外のため、" .. what.ja .. "はできません。運用期間は" .. period.ja .. "です",
             en = "the special measure is not in force (" .. period.en .. "): cannot " .. what.en }
  end
end

-- The reasons of failing requirements, as one text, each under the name of
-- its requirement in the notice's words (REQUIREMENT_NAMES, 20-checks.lua).
-- Returns the names of the failing requirements joined ("適用要件1（…）・
-- 適用要件3（…）"), and their reasons, each a sentence of its own (ja) or
-- after its name (en).
local function failures_text(failures)
  local names, list = {}, {}
  for _, f in ipairs(failures) do
    if not f.ok then
      local name = REQUIREMENT_NAMES[f.id] or text(f.id, f.id)
      names[#names + 1] = name
      local ja = f.reason.ja:gsub("。$", "")
      list[#list + 1] = text(ja .. "。", name.en .. ": " .. f.reason.en)
    end
  end
  return join_texts(names, "・", " and "), join_texts(list, "", "; ")
end

-- The dated facts of an application that happened before they are recorded:
-- the secretariat records the result of an impact assessment it was given.
-- (A statement or pledge dated later is kept as announced, and counts from
-- its date: 20-checks.lua.)
local PAST_DATES = {
  { "impact_assessment", "assessed_on" },
}

-- What submit and amend refuse of the fields they write, beyond the
-- validation of each field (10-application.lua): a dated fact dated after
-- the day it is recorded, and an impact assessment without its route (a
-- sub-object given is complete; R2 needs the route).  `fields`: the
-- top-level fields written.
local function refuse_incomplete(app, fields, at)
  local today = date_of(at)
  for _, f in ipairs(PAST_DATES) do
    local obj = fields[f[1]] and type(app[f[1]]) == "table" and app[f[1]]
    local d = obj and obj[f[2]] ~= nil and civil_date(obj[f[2]])
    if d and d > today then
      local path = f[1] .. "." .. f[2]
      refuse { ja = path .. ": " .. label_of(path) .. " " .. ja_date(d) .. "は記録する日（" .. wareki(today) ..
                    "）より後の日付です。行われた日を指定してください",
               en = path .. ": " .. d .. " is after the day it is recorded (" .. today .. "): give the day it took place" }
    end
  end
  local ia = fields.impact_assessment and type(app.impact_assessment) == "table" and app.impact_assessment
  if ia and not is_list(ia) and ia.route == nil then
    refuse { ja = "impact_assessment.route: 評価の経路は必須です。agency（当該 SaaS を利用・調達する政府機関等）または consultation_desk（ISMAP-LIU 相談窓口）を指定してください",
             en = "impact_assessment.route: required: give agency (a government body that uses or procures the SaaS) or consultation_desk (the ISMAP-LIU consultation desk)" }
  end
end

-- The plan as submit and amend declare it (what `act … --help` shows): the
-- one label of the plan, and the forms planned_time() reads.
PLAN_PARAM = { id = "planned_liu_application",
  ja = PLAN_LABEL.ja .. "（年月または日付。例: 2024-10、令和6年10月、令和7年3月末）",
  en = PLAN_LABEL.en .. " (a month or a date, e.g. 2024-10, 令和6年10月 or 令和7年3月末)" }

-- ---------------------------------------------------------------- submit

-- 申請の受付.  params are the application's data (10-application.lua); only
-- service_name and provider_name are required now, the rest may follow.
action "submit" {
  title = { ja = "申請の登録", en = "Register an application" },
  kind = "application", roles = SECRETARIAT, creates = true, to = "submitted",
  params = application_params(true),
  run = function (app, p, at)
    during_period(at, { ja = "申請の登録", en = "register an application" })
    for k in pairs(app) do
      if SYSTEM_FIELDS[k] then
        refuse { ja = k .. ": 事務局の操作で記録される項目のため、申請では指定できません",
                 en = k .. ": recorded by the secretariat's actions, not part of an application" }
      end
    end
    refuse_incomplete(app, app, at)
    emit("submitted", { on = date_of(at) })
  end,
}

-- ---------------------------------------------------------------- amend

-- 申請内容の変更.  params: the fields to replace, at the top level (a field
-- given replaces the whole field: give all of `statement`, not part of it);
-- `clear = {"field", …}` removes optional fields.  Allowed while submitted or
-- confirmed and the period runs.  The fields that make the service never
-- change (kind{identity}: withdraw and submit another).  A confirmed
-- application whose statement, assessment, pledge or plan changes goes back to
-- submitted, to be confirmed again.
action "amend" {
  title = { ja = "申請内容の変更", en = "Amend an application" },
  kind = "application", roles = SECRETARIAT, from = { "submitted", "confirmed" },
  params = application_params(false, { id = "clear", type = "list", ja = "消す項目の一覧（カンマ区切り）",
                                      en = "the optional fields to remove (comma-separated)" }),
  run = function (app, p, at, rec)
    during_period(at, { ja = "申請内容の変更", en = "amend an application" })
    if next(p) == nil then
      refuse { ja = "変更する項目がありません", en = "nothing to amend: give the fields to replace" }
    end
    for k in pairs(p) do
      if SYSTEM_FIELDS[k] then
        refuse { ja = tostring(k) .. ": 事務局の操作で記録される項目のため、変更できません",
                 en = tostring(k) .. ": recorded by the secretariat's actions, cannot be amended" }
      elseif k ~= "clear" and not APPLICATION_FIELDS[k] then
        refuse { ja = tostring(k) .. ": 不明な項目です（使える項目: " .. sorted_keys(APPLICATION_FIELDS) .. "、clear）",
                 en = tostring(k) .. ": unknown field (known: " .. sorted_keys(APPLICATION_FIELDS) .. ", clear)" }
      end
    end
    -- R4: the pledge covers 「言明内容」: a new statement needs a pledge of it,
    -- given in the same amend (validation then checks it is not older).
    if p.statement ~= nil and p.pledge == nil and not equal(p.statement, app.statement) then
      refuse { ja = "言明（statement）を変更するときは、新しい言明についての誓約書（pledge）とその提出日も指定してください",
               en = "a new statement needs a new pledge: give pledge with its date in the same amend" }
    end
    -- ... and the old pledge sent again is not a pledge of the new statement.
    if p.statement ~= nil and p.pledge ~= nil and not equal(p.statement, app.statement) then
      local function pledged(v) return type(v) == "table" and v.submitted_on ~= nil and civil_date(v.submitted_on) or nil end
      local old, new = pledged(app.pledge), pledged(p.pledge)
      if old and new and old == new then
        refuse { ja = "pledge.submitted_on: 誓約書の提出日 " .. ja_date(old) .. "は変更前と同じです。言明を変更するときは、新しい言明についての誓約書の提出日を指定してください",
                 en = "pledge.submitted_on: the pledge is dated " .. old .. ", as before: a new statement needs the date of a new pledge of it" }
      end
    end
    local amended = {}     -- the fields this amend replaces or clears
    local before = {}      -- and what they were: the values themselves (a
    -- field is replaced, never changed in place), taken only of the fields
    -- replaced, so that a field the amend leaves alone is never read (a
    -- stored statement stays text: docs/PERFORMANCE.md)
    for k, v in pairs(p) do
      if k ~= "clear" then before[k] = app[k]; app[k] = copy(v); amended[k] = true end
    end
    refuse_incomplete(app, amended, at)
    if p.clear ~= nil then
      if type(p.clear) ~= "table" or not is_list(p.clear) then
        refuse { ja = "clear: 消す項目名のリストで書いてください", en = "clear: must be a list of field names" }
      end
      for _, k in ipairs(p.clear) do
        if not APPLICATION_FIELDS[k] or contains(REQUIRED_FIELDS, k) then
          refuse { ja = "clear: 「" .. tostring(k) .. "」は消せる項目ではありません",
                   en = "clear: \"" .. tostring(k) .. "\" is not an optional field" }
        end
        if p[k] ~= nil then
          refuse { ja = "clear: 「" .. k .. "」を変更と同時に消すことはできません",
                   en = "clear: \"" .. k .. "\" is both given and cleared" }
        end
        if not amended[k] then before[k] = app[k] end
        app[k] = nil
        amended[k] = true
      end
    end
    -- What R1–R4 read, changed on a confirmed application, is confirmed
    -- again: the application goes back to 申請受付 and leaves the list until
    -- then; the reason is in its history (the event).  Its incentive uses
    -- stay with the service (kind{identity}.keeps).
    local reread = {}
    if rec.state == "confirmed" then
      for _, k in ipairs(REQUIREMENT_FIELDS) do
        if amended[k] and not equal(app[k], before[k]) then reread[#reread + 1] = k end
      end
    end
    if #reread > 0 then
      local ja, en = {}, {}
      -- Each field by its name in words (「…」 in Japanese; lower case in an English sentence).
      for i, k in ipairs(reread) do
        ja[i] = "「" .. label_of(k) .. "」"
        en[i] = (field_of(k).en or k):gsub("^%u%l", string.lower)
      end
      local was = app.confirmed_on
      app.confirmed_on = nil
      rec.state = "submitted"
      emit("reconfirmation_needed", { fields = array(reread), was_confirmed_on = was,
        reason = "確認済みの申請の" .. table.concat(ja, "・") .. "が変更されたため、改めて要件の確認が必要です（サービスリストから外れます）",
        reason_en = "the confirmed application's " .. table.concat(en, ", ") .. " changed: the requirements must be confirmed again (off the service list until then)" })
    end
    local names = array()
    for k in pairs(p) do names[#names + 1] = k end
    table.sort(names)
    emit("amended", { fields = names })
  end,
}

-- ---------------------------------------------------------------- confirm

-- 要件の確認: all of R1–R4 hold and the special measure is in force (the
-- requirements of 20-checks.lua, as eval shows them).  The service joins the
-- service list (40-views.lua).
action "confirm" {
  title = { ja = "適用の確認（サービスリストへの掲載）", en = "Confirm the application (joins the service list)" },
  kind = "application", roles = SECRETARIAT, from = { "submitted" }, to = "confirmed", params = {},
  run = function (app, p, at, rec)
    only_params(p, {})
    local ok, checks = evaluate(rec, at)
    if not ok then
      local names, why = failures_text(checks)
      refuse { ja = names.ja .. "を満たさないため、確認できません。" .. why.ja,
               en = "cannot confirm: " .. names.en .. " not met. " .. why.en }
    end
    -- The pack's decision: a service is confirmed by its 法人番号.  Until
    -- one is given the service is only its provider's name, which another
    -- record may write otherwise (「(株)テスト」, 「株式会社テスト」) or pair with
    -- a number: two records of one service could both be listed and each
    -- use ① once.  With the number required here, every listed service is
    -- its number and its name, and kind{identity} keeps one of them live.
    if type(app.provider_corporate_number) ~= "string" or app.provider_corporate_number == "" then
      refuse { ja = "法人番号が記入されていないため、確認できません。サービスは法人番号とサービス名で特定するため、法人番号を記入してから確認してください",
               en = "cannot confirm without the provider's corporate number (法人番号): a listed service is identified by that number and its name; amend the application to give it" }
    end
    app.confirmed_on = date_of(at)
    emit("confirmed", { on = app.confirmed_on })
  end,
}

-- ---------------------------------------------------------------- reject

-- 却下 {reason}: from submitted, or from confirmed (確認の取消, e.g. the
-- statement proved untrue: the service leaves the list).
action "reject" {
  title = { ja = "却下（確認の取消を含む）", en = "Reject (or revoke a confirmation)" },
  kind = "application", roles = SECRETARIAT, from = { "submitted", "confirmed" }, to = "rejected",
  params = { { id = "reason", type = "text", ja = "却下の理由", en = "the reason for the rejection", required = true } },
  run = function (app, p, at, rec)
    only_params(p, { "reason" })
    if p.reason == nil then
      refuse { ja = "reason: 却下の理由は必須です", en = "reason: the reason for the rejection is required" }
    end
    local r, why = clean_text(p.reason, 1000)
    if not r then
      refuse { ja = "reason: 却下の理由が" .. why.ja, en = "reason: " .. why.en }
    end
    app.rejection = { reason = r, on = date_of(at), was = rec.state }
    emit("rejected", { reason = r, on = date_of(at) })
  end,
}

-- ---------------------------------------------------------------- withdraw

-- 取下げ (by the provider's wish), optionally {reason}.
action "withdraw" {
  title = { ja = "取下げ", en = "Withdraw" },
  kind = "application", roles = SECRETARIAT, from = { "submitted", "confirmed" }, to = "withdrawn",
  params = { { id = "reason", type = "text", ja = "取下げの理由", en = "the reason for the withdrawal" } },
  run = function (app, p, at, rec)
    only_params(p, { "reason" })
    local r
    if p.reason ~= nil then
      local why
      r, why = clean_text(p.reason, 1000)
      if not r then refuse { ja = "reason: 取下げの理由が" .. why.ja, en = "reason: " .. why.en } end
    end
    app.withdrawal = { on = date_of(at), reason = r, was = rec.state }
    emit("withdrawn", { on = date_of(at), reason = r })
  end,
}

-- ---------------------------------------------------------------- file_liu_application

-- ISMAP-LIU への登録申請・事前申請の記録 {type, filed_on}.  A filing within the
-- period meets R1 and fulfils the pledge; a later one is recorded too (follow-up
-- after the period) but does not count.  Also allowed on an ended record.
FILING_TYPES = { pre_application = "事前申請", application = "登録申請" }

action "file_liu_application" {
  title = { ja = "ISMAP-LIU 申請の記録", en = "Record an ISMAP-LIU filing" },
  kind = "application", roles = SECRETARIAT, from = { "submitted", "confirmed", "ended" },
  params = { { id = "type", type = "text", ja = "申請の種類（pre_application または application）",
               en = "the filing (pre_application or application)", required = true },
             { id = "filed_on", ja = "申請日", en = "filed on (a date)", required = true } },
  run = function (app, p, at, rec)
    only_params(p, { "type", "filed_on" })
    if p.type == nil then
      refuse { ja = "type: 申請の種類は必須です（pre_application または application）",
               en = "type: required (pre_application or application)" }
    end
    if not FILING_TYPES[p.type] then
      refuse { ja = "type: 「" .. shown(p.type) .. "」は指定できません。pre_application（事前申請）または application（登録申請）を指定してください",
               en = "type: \"" .. shown(p.type) .. "\" is not a filing: give pre_application or application" }
    end
    local d = date_param(p, "filed_on", at)
    if d < LIU_START then
      refuse { ja = "filed_on: ISMAP-LIU の開始日 " .. ja_date(LIU_START) .. "より前の日付です",
               en = "filed_on: before ISMAP-LIU began (" .. LIU_START .. ")" }
    end
    local list = as_list(app.liu_filings)
    for _, f in ipairs(list) do
      if type(f) == "table" and f.type == p.type and f.filed_on == d then
        refuse { ja = ja_date(d) .. "の" .. FILING_TYPES[p.type] .. "は記録済みです",
                 en = "this filing (" .. p.type .. " on " .. d .. ") is already recorded" }
      end
    end
    local in_period = within("special-measure", d)
    local last_day = late_recording_until("special-measure")
    if in_period and last_day and date_of(at) > last_day then
      refuse { ja = "filed_on: 運用期間内の申請は運用期間の終了後" .. LATE_RECORDING_DAYS .. "日（" .. wareki(last_day) ..
                    "）まで記録できますが、その記録の猶予を過ぎています",
               en = "filed_on: a filing dated within the period may be recorded until " .. last_day ..
                    " (" .. LATE_RECORDING_DAYS .. " days after the period); that is past" }
    end
    list[#list + 1] = { type = p.type, filed_on = d, recorded_on = date_of(at) }
    app.liu_filings = list
    if rec.state == "ended" and type(app.ended) == "table" and in_period then
      app.ended.liu_filed_in_period = true       -- recorded late: the pledge was kept
    end
    emit("liu_filed", { filing_type = p.type, filed_on = d, in_period = in_period })
  end,
}

-- ---------------------------------------------------------------- use_incentive

-- インセンティブ①② の利用 {incentive, used_on}: once each, only while the
-- application is confirmed and the incentive's measure is in force.
-- audit_scope = ① (incentive-1), internal_audit_report = ② (incentive-2).
action "use_incentive" {
  title = { ja = "インセンティブの利用の記録", en = "Record the use of an incentive" },
  kind = "application", roles = SECRETARIAT, from = { "confirmed", "ended" },
  params = { { id = "incentive", type = "text", ja = "インセンティブ（audit_scope ① または internal_audit_report ②）",
               en = "the incentive (audit_scope ① or internal_audit_report ②)", required = true },
             { id = "used_on", ja = "利用日", en = "used on (a date)", required = true } },
  run = function (app, p, at, rec)
    only_params(p, { "incentive", "used_on" })
    if p.incentive == nil then
      refuse { ja = "incentive: インセンティブの種類は必須です。audit_scope（インセンティブ①）または internal_audit_report（インセンティブ②）を指定してください",
               en = "incentive: required: give audit_scope (incentive ①) or internal_audit_report (incentive ②)" }
    end
    local inc
    for _, i in ipairs(INCENTIVES) do if i.name == p.incentive then inc = i end end
    if not inc then
      refuse { ja = "incentive: 「" .. shown(p.incentive) .. "」は指定できません。audit_scope（インセンティブ①）または internal_audit_report（インセンティブ②）を指定してください",
               en = "incentive: \"" .. shown(p.incentive) .. "\" is not an incentive: give audit_scope (incentive ①) or internal_audit_report (incentive ②)" }
    end
    -- After the measure, a use dated within it may still be recorded within
    -- the late-recording window (LATE_RECORDING_DAYS), as a filing may.
    local last_day = late_recording_until(inc.measure)
    local late = not in_force(inc.measure, at)
    if late and last_day and date_of(at) > last_day and (rec.state == "ended" or rec.state == "confirmed") then
      local d = civil_date(p.used_on)
      if d and within(inc.measure, d) then
        refuse { ja = "used_on: " .. wareki(d) .. "の利用は運用期間内ですが、記録の猶予（" .. wareki(last_day) ..
                      "まで）を過ぎているため記録できません",
                 en = "used_on: the use of " .. inc.label.en .. " on " .. d .. " falls within the period, but the time to record it ended on " ..
                      last_day .. ": it can no longer be recorded" }
      end
    end
    if late and not (last_day and date_of(at) <= last_day and (rec.state == "ended" or rec.state == "confirmed")) then
      refuse { ja = inc.label.ja .. "は運用期間（" .. period_wareki(inc.measure) .. "）外のため利用できません" ..
                    (last_day and ("（運用期間内の利用の記録は" .. wareki(last_day) .. "まで）") or ""),
               en = inc.label.en .. " is not in force (" .. period_text(inc.measure).en .. ")" ..
                    (last_day and ("; a use within it could be recorded until " .. last_day) or "") }
    end
    -- 「一度に限り」 is per service: a use recorded on any record of the
    -- service is here too (kind{identity}.keeps carries it).
    local used = incentive_used_on(app, inc.name)
    if used then
      local by = type(app.incentives[inc.name]) == "table" and app.incentives[inc.name].record
      local on_other = by and by ~= rec.id
      refuse { ja = "このサービスの" .. inc.label.ja .. "は" .. ja_date(used) .. "に利用済みです（1回限り" ..
                    (on_other and ("。記録 " .. by .. " で利用") or "") .. "）",
               en = inc.label.en .. " was already used by this service on " .. used .. " (once only" ..
                    (on_other and ("; on record " .. by) or "") .. ")" }
    end
    local d = date_param(p, "used_on", at)
    if not within(inc.measure, d) then
      refuse { ja = "used_on: " .. ja_date(d) .. "は" .. inc.label.ja .. "の期間（" .. period_wareki(inc.measure) .. "）外です",
               en = "used_on: " .. d .. " is outside the period of " .. inc.label.en .. " (" .. period_text(inc.measure).en .. ")" }
    end
    if type(app.confirmed_on) == "string" and d < app.confirmed_on then
      refuse { ja = "used_on: 確認日 " .. ja_date(app.confirmed_on) .. "より前の日付です",
               en = "used_on: before the application was confirmed (" .. app.confirmed_on .. ")" }
    end
    local incs = type(app.incentives) == "table" and app.incentives or {}
    incs[inc.name] = { used_on = d, recorded_on = date_of(at), record = rec.id }
    app.incentives = incs
    emit("incentive_used", { incentive = inc.name, measure = inc.measure, used_on = d })
  end,
}
