-- What the secretariat (事務局) can do to an application, with its guards.
--
--   submit ──▶ submitted ──confirm──▶ confirmed ──(end of period)──▶ ended
--                 │  ╲                    │  ╲
--                 │   reject / withdraw   │   reject (確認の取消) / withdraw
--        (end of period) ▶ lapsed         ▼
--                                    rejected / withdrawn
--
-- amend (submitted, confirmed), file_liu_application (also ended) and
-- use_incentive (confirmed, ended) change a record in place.  Nothing new
-- after the period: submit, amend, confirm and use_incentive are refused once
-- the special measure (or the incentive) is no longer in force, but for the
-- late recording of an in-period fact (LATE_RECORDING_DAYS).

local SECRETARIAT = { "secretariat" }
-- What R1–R4 read: changed on a confirmed application, it is confirmed again.
REQUIREMENT_FIELDS = { "impact_assessment", "statement", "pledge", "planned_liu_application" }

-- A date param not after the day of `at` (a fact is recorded once it happened).
local function not_future(name, d, at)
  if d > date_of(at) then
    refuse { ja = name .. ": " .. ja_date(d) .. "は将来の日付のため、記録できません",
             en = name .. ": " .. d .. " is in the future" }
  end
  return d
end

-- The failing requirements of evaluate(), named as the notice names them
-- ("適用要件1（…）・適用要件3（…）"), and their reasons.
local function failures_text(checks)
  local names, list = {}, {}
  for _, f in ipairs(checks) do
    if not f.ok then
      local name = REQUIREMENT_NAMES[f.id] or text(f.id, f.id)
      names[#names + 1] = name
      list[#list + 1] = text(f.reason.ja:gsub("。$", "") .. "。", name.en .. ": " .. f.reason.en)
    end
  end
  return join_texts(names, "・", " and "), join_texts(list, "", "; ")
end

-- What submit and amend refuse of the `fields` they write, beyond each
-- field's validation: an impact assessment dated after the day it is
-- recorded (a result is recorded once given; a statement or pledge dated
-- later is kept as announced), or without its route (R2 needs it).
local function refuse_incomplete(app, fields, at)
  local ia = fields.impact_assessment and type(app.impact_assessment) == "table" and app.impact_assessment
  if not ia or is_list(ia) then return end
  local d, today = ia.assessed_on ~= nil and read_date(ia.assessed_on), date_of(at)
  if d and d > today then
    refuse { ja = "impact_assessment.assessed_on: " .. label_of("impact_assessment.assessed_on") .. " " ..
                  ja_date(d) .. "は記録する日（" .. wareki(today) .. "）より後の日付です。行われた日を指定してください",
             en = "impact_assessment.assessed_on: " .. d .. " is after the day it is recorded (" .. today ..
                  "): give the day it took place" }
  end
  if ia.route == nil then
    refuse { ja = "impact_assessment.route: 評価の経路は必須です。agency（当該 SaaS を利用・調達する政府機関等）または consultation_desk（ISMAP-LIU 相談窓口）を指定してください",
             en = "impact_assessment.route: required: give agency (a government body that uses or procures the SaaS) or consultation_desk (the ISMAP-LIU consultation desk)" }
  end
end

-- Refuses a field the pack records itself, given as a param.
local function refuse_recorded(p, ja, en)
  for k in pairs(p) do
    if SYSTEM_FIELDS[k] then
      refuse { ja = tostring(k) .. ": 事務局の操作で記録される項目のため、" .. ja,
               en = tostring(k) .. ": recorded by the secretariat's actions, " .. en }
    end
  end
end

-- The plan as `act … --help` shows it: its one label, and the forms read.
PLAN_PARAM = { id = "planned_liu_application",
  ja = PLAN_LABEL.ja .. "（年月または日付。例: 2024-10、令和6年10月、令和7年3月末）",
  en = PLAN_LABEL.en .. " (a month or a date, e.g. 2024-10, 令和6年10月 or 令和7年3月末)" }

-- 申請の受付: params are the application's data; the rest may follow by amend.
action "submit" {
  title = { ja = "申請の登録", en = "Register an application" },
  kind = "application", roles = SECRETARIAT, creates = true, to = "submitted",
  during = "special-measure", params = application_params(true),
  run = function (app, p, at)
    refuse_recorded(app, "申請では指定できません", "not part of an application")
    refuse_incomplete(app, app, at)
    emit("submitted", { on = date_of(at) })
  end,
}

-- 申請内容の変更.  params: the top-level fields to replace, each whole;
-- `clear = {"field", …}` removes optional ones.  The fields that make the
-- service never change (kind{identity}: withdraw and submit another).
action "amend" {
  title = { ja = "申請内容の変更", en = "Amend an application" },
  kind = "application", roles = SECRETARIAT, from = { "submitted", "confirmed" },
  during = "special-measure",
  params = application_params(false, { id = "clear", type = "list", ja = "消す項目の一覧（カンマ区切り）",
                                      en = "the optional fields to remove (comma-separated)" }),
  run = function (app, p, at, rec)
    if next(p) == nil then
      refuse { ja = "変更する項目がありません", en = "nothing to amend: give the fields to replace" }
    end
    refuse_recorded(p, "変更できません", "cannot be amended")
    local amended, before, same = amend_fields(app, p)
    -- R4: the pledge covers 「言明内容」: a new statement needs a pledge of it,
    -- given in the same amend (validation then checks it is not older), and
    -- the old pledge sent again is not a pledge of the new statement.
    if amended.statement then
      local function pledged(v)
        return type(v) == "table" and v.submitted_on ~= nil and read_date(v.submitted_on)
      end
      local old = pledged(before.pledge)
      if p.pledge == nil then
        refuse { ja = "言明（statement）を変更するときは、新しい言明についての誓約書（pledge）とその提出日も指定してください",
                 en = "a new statement needs a new pledge: give pledge with its date in the same amend" }
      elseif old and old == pledged(p.pledge) then
        refuse { ja = "pledge.submitted_on: 誓約書の提出日 " .. ja_date(old) .. "は変更前と同じです。言明を変更するときは、新しい言明についての誓約書の提出日を指定してください",
                 en = "pledge.submitted_on: the pledge is dated " .. old .. ", as before: a new statement needs the date of a new pledge of it" }
      end
    end
    refuse_incomplete(app, amended, at)
    -- What R1–R4 read, changed on a confirmed application, is confirmed
    -- again: back to 申請受付 and off the list until then, the reason in its
    -- history.  Its incentive uses stay with the service (identity.keeps).
    -- Each field by its name in words (「…」; lower case in an English sentence).
    local reread, ja, en = array(), {}, {}
    for _, k in ipairs(rec.state == "confirmed" and REQUIREMENT_FIELDS or {}) do
      if amended[k] then
        reread[#reread + 1], ja[#ja + 1] = k, "「" .. label_of(k) .. "」"
        en[#en + 1] = (field_of_app(k).en or k):gsub("^%u%l", string.lower)
      end
    end
    if #reread > 0 then
      local was = app.confirmed_on
      app.confirmed_on, rec.state = nil, "submitted"
      emit("reconfirmation_needed", { fields = reread, was_confirmed_on = was,
        reason = "確認済みの申請の" .. table.concat(ja, "・") .. "が変更されたため、改めて要件の確認が必要です（サービスリストから外れます）",
        reason_en = "the confirmed application's " .. table.concat(en, ", ") .. " changed: the requirements must be confirmed again (off the service list until then)" })
    end
    -- Fields given as stored (sent again, or by their label) are "unchanged".
    for _, e in ipairs({ { "amended", amended }, { "unchanged", same } }) do
      local names = array()
      for k in pairs(e[2]) do names[#names + 1] = k end
      table.sort(names)
      if #names > 0 then emit(e[1], { fields = names }) end
    end
  end,
}

-- 要件の確認: the checks hold, as eval shows them; the service joins the list.
action "confirm" {
  title = { ja = "適用の確認（サービスリストへの掲載）", en = "Confirm the application (joins the service list)" },
  kind = "application", roles = SECRETARIAT, from = { "submitted" }, to = "confirmed", params = {},
  run = function (app, p, at, rec)
    read_params(p)
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

-- 却下, or 確認の取消 (the statement proved untrue: the service leaves the list).
action "reject" {
  title = { ja = "却下（確認の取消を含む）", en = "Reject (or revoke a confirmation)" },
  kind = "application", roles = SECRETARIAT, from = { "submitted", "confirmed" }, to = "rejected",
  params = { { id = "reason", type = "text", max = 1000, required = true,
               ja = "却下の理由", en = "the reason for the rejection" } },
  run = function (app, p, at, rec)
    local r = read_params(p).reason
    app.rejection = { reason = r, on = date_of(at), was = rec.state }
    emit("rejected", { reason = r, on = date_of(at) })
  end,
}

-- 取下げ (by the provider's wish), optionally {reason}.
action "withdraw" {
  title = { ja = "取下げ", en = "Withdraw" },
  kind = "application", roles = SECRETARIAT, from = { "submitted", "confirmed" }, to = "withdrawn",
  params = { { id = "reason", type = "text", max = 1000,
               ja = "取下げの理由", en = "the reason for the withdrawal" } },
  run = function (app, p, at, rec)
    local r = read_params(p).reason
    app.withdrawal = { on = date_of(at), reason = r, was = rec.state }
    emit("withdrawn", { on = date_of(at), reason = r })
  end,
}

-- ISMAP-LIU への登録申請・事前申請の記録.  A filing within the period meets R1
-- and fulfils the pledge; a later one is recorded too (follow-up) but does not count.
FILING_TYPES = { pre_application = { ja = "事前申請", en = "pre-application" },
                 application = { ja = "登録申請", en = "application" } }

action "file_liu_application" {
  title = { ja = "ISMAP-LIU 申請の記録", en = "Record an ISMAP-LIU filing" },
  kind = "application", roles = SECRETARIAT, from = { "submitted", "confirmed", "ended" },
  params = {
    { id = "type", type = "text", required = true, ja = "申請の種類（pre_application または application）",
      en = "the type of filing (pre_application or application)",
      check = function (v)
        if not FILING_TYPES[v] then
          return text("「" .. shown(v) .. "」は指定できません。pre_application（事前申請）または application（登録申請）を指定してください",
                      "\"" .. shown(v) .. "\" is not a filing: give pre_application or application")
        end
      end },
    { id = "filed_on", type = "date", required = true, ja = "申請日", en = "the date of filing",
      min = { on = LIU_START, ja = "ISMAP-LIU の開始日 " .. ja_date(LIU_START),
              en = "ISMAP-LIU began (" .. LIU_START .. ")" } },
  },
  run = function (app, p, at, rec)
    p = read_params(p)
    local d = not_future("filed_on", p.filed_on, at)
    local list = type(app.liu_filings) == "table" and copy(app.liu_filings) or array()
    for _, f in ipairs(list) do
      if type(f) == "table" and f.type == p.type and f.filed_on == d then
        refuse { ja = ja_date(d) .. "の" .. FILING_TYPES[p.type].ja .. "は記録済みです",
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

-- インセンティブ①② の利用: once each per service, while the application is
-- confirmed and the incentive's measure is in force.
local function incentive_named(name)
  for _, inc in ipairs(INCENTIVES) do if inc.name == name then return inc end end
end

action "use_incentive" {
  title = { ja = "インセンティブの利用の記録", en = "Record the use of an incentive" },
  kind = "application", roles = SECRETARIAT, from = { "confirmed", "ended" },
  params = {
    { id = "incentive", type = "text", required = true,
      ja = "インセンティブ（audit_scope ① または internal_audit_report ②）",
      en = "the incentive (audit_scope ① or internal_audit_report ②)",
      check = function (v)
        if not incentive_named(v) then
          return text("「" .. shown(v) .. "」は指定できません。audit_scope（インセンティブ①）または internal_audit_report（インセンティブ②）を指定してください",
                      "\"" .. shown(v) .. "\" is not an incentive: give audit_scope (incentive ①) or internal_audit_report (incentive ②)")
        end
      end },
    { id = "used_on", type = "date", required = true, ja = "利用日", en = "the date of use" },
  },
  run = function (app, p, at, rec)
    p = read_params(p)
    local inc, d, today = incentive_named(p.incentive), p.used_on, date_of(at)
    -- After the measure, a use dated within it may be recorded late, as a filing may.
    local last_day = late_recording_until(inc.measure)
    if not in_force(inc.measure, at) and not (last_day and today <= last_day) then
      if last_day and within(inc.measure, d) then
        refuse { ja = "used_on: " .. wareki(d) .. "の利用は運用期間内ですが、記録の猶予（" .. wareki(last_day) ..
                      "まで）を過ぎているため記録できません",
                 en = "used_on: the use of " .. inc.label.en .. " on " .. d .. " falls within the period, but the time to record it ended on " ..
                      last_day .. ": it can no longer be recorded" }
      end
      refuse { ja = inc.label.ja .. "は運用期間（" .. period_of(inc.measure, true).ja .. "）外のため利用できません" ..
                    (last_day and ("（運用期間内の利用の記録は" .. wareki(last_day) .. "まで）") or ""),
               en = inc.label.en .. " is not in force (" .. period_of(inc.measure).en .. ")" ..
                    (last_day and ("; a use within it could be recorded until " .. last_day) or "") }
    end
    -- 「一度に限り」 is per service: a use recorded on any record of the
    -- service is here too (kind{identity}.keeps carries it).
    local used = incentive_used_on(app, inc.name)
    if used then
      local by = app.incentives[inc.name].record
      local on_other = by and by ~= rec.id
      refuse { ja = "このサービスの" .. inc.label.ja .. "は" .. ja_date(used) .. "に利用済みです（1回限り" ..
                    (on_other and ("。記録 " .. by .. " で利用") or "") .. "）",
               en = inc.label.en .. " was already used by this service on " .. used .. " (once only" ..
                    (on_other and ("; on record " .. by) or "") .. ")" }
    end
    not_future("used_on", d, at)
    if not within(inc.measure, d) then
      refuse { ja = "used_on: " .. ja_date(d) .. "は" .. inc.label.ja .. "の期間（" .. period_of(inc.measure, true).ja .. "）外です",
               en = "used_on: " .. d .. " is outside the period of " .. inc.label.en .. " (" .. period_of(inc.measure).en .. ")" }
    elseif type(app.confirmed_on) == "string" and d < app.confirmed_on then
      refuse { ja = "used_on: 確認日 " .. ja_date(app.confirmed_on) .. "より前の日付です",
               en = "used_on: before the application was confirmed (" .. app.confirmed_on .. ")" }
    end
    local incs = type(app.incentives) == "table" and app.incentives or {}
    incs[inc.name] = { used_on = d, recorded_on = today, record = rec.id }
    app.incentives = incs
    emit("incentive_used", { incentive = inc.name, measure = inc.measure, used_on = d })
  end,
}
