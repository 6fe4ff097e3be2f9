-- 適用要件 (requirements) of the notice: an application is eligible when the
-- special measure is in force and R1–R4 all hold; `confirm` applies them as
-- eval shows them.  A check copes with missing or malformed data: it fails
-- and says what is missing.

-- A field missing, or not a date: named in words and by its path.
local function field_problem(path, ja, en)
  local f = field_of_app(path)
  return text(f.ja .. "（" .. path .. "）" .. ja,
              "the " .. f.en:lower() .. " (" .. path .. ") " .. en)
end
local function missing(path) return field_problem(path, "がありません", "is missing") end

-- The day of a dated fact of the record (`v`, at `path`), judged at `at`:
-- the day, or nil and the problem: missing, not a date, earlier than
-- early(d) allows (a reason), or after the day of `at` (then the day too).
-- `ja`, `en`: the fact in a sentence (「言明日」, "the statement").
local function day_of(v, path, at, early, ja, en)
  if v == nil then return nil, missing(path) end
  local d = read_date(v)
  if not d then return nil, field_problem(path, "が日付として読めません", "is not a date") end
  local why = early(d)
  if why then
    return nil, text(ja .. " " .. ja_date(d) .. "は" .. why.ja, en .. " (" .. d .. ") " .. why.en)
  end
  local today = date_of(at)
  if d <= today then return d end
  return nil, text(ja .. " " .. ja_date(d) .. "は判定日 " .. ja_date(today) .. "より後です",
                   en .. " (" .. d .. ") is dated after " .. today), d
end

-- A failing check with all its problems ("…。…" / "…; …"), or pass.
local function judged(problems)
  return #problems > 0 and fail(join_texts(problems)) or pass()
end

-- The requirements as an official names them in a refusal (never "R1").
REQUIREMENT_NAMES = {
  period = text("特別措置の運用期間", "the period of the special measure"),
  R1 = text("適用要件1（ISMAP-LIU 申請の予定）", "requirement 1 (a planned ISMAP-LIU filing)"),
  R2 = text("適用要件2（影響度評価の結果が低位）", "requirement 2 (a low impact assessment)"),
  R3 = text("適用要件3（管理基準への適合の言明）", "requirement 3 (the statement against the criteria)"),
  R4 = text("適用要件4（誓約書の提出）", "requirement 4 (the pledge)"),
}

check "period" {
  title = { ja = "特別措置の運用期間内であること", en = "The special measure is in force" },
  function (app, at)
    if in_force("special-measure", at) then return pass { ja = "運用期間内です", en = "within the period" } end
    local period = period_of("special-measure")
    local yet = at < measure_of("special-measure").starts
    return fail { ja = "特別措置の運用期間は" .. period.ja .. (yet and "で、まだ始まっていません" or "で、既に終了しています"),
                  en = "the special measure (" .. period.en .. ")"
                       .. (yet and " has not started yet" or " has ended") }
  end,
}

-- R1: 運用期間内に ISMAP-LIU の登録申請（事前申請を含む）を提出される予定であること.
-- Met by a planned month or day within the period and not wholly past at the
-- decision (a time past with no filing is not a plan), or by a filing
-- recorded within the period.

check "R1" {
  title = { ja = "運用期間内にISMAP-LIUの登録申請（事前申請を含む）を提出する予定であること",
            en = "An ISMAP-LIU application (or pre-application) is planned within the period" },
  function (app, at)
    local today = date_of(at)
    if filing_in_period(app, today) then return pass() end
    local v = app.planned_liu_application
    if v == nil then
      return fail { ja = PLAN_LABEL.ja .. "（planned_liu_application）がなく、運用期間内の ISMAP-LIU 申請の記録もありません",
                    en = "no planned time of the ISMAP-LIU application or pre-application (planned_liu_application), and no such filing recorded within the period" }
    end
    local p, why = read_month(v, true)
    if not p then
      return fail { ja = PLAN_LABEL.ja .. "（planned_liu_application）が読めません: " .. why.ja,
                    en = "the planned time of the ISMAP-LIU application (planned_liu_application) cannot be read: " .. why.en }
    elseif not within("special-measure", p) then
      return fail { ja = "予定時期 " .. ja_date(p) .. "は、運用期間（" .. period_of("special-measure", true).ja .. "）内ではありません",
                    en = "the planned ISMAP-LIU application (" .. p .. ") is not within the period ("
                         .. period_of("special-measure").en .. ")" }
    elseif p < today:sub(1, #p) then      -- a plan wholly past: its day, or its month
      return fail { ja = "予定時期 " .. ja_date(p) .. "は判定日 " .. ja_date(today) ..
                         "の時点で既に過ぎており、ISMAP-LIU 申請の記録もありません。予定が変わった場合は新しい予定時期を記録してください",
                    en = "the planned time of the ISMAP-LIU filing (" .. p .. ") passed before " .. today ..
                         ", and no filing is recorded: record the new planned time if the plan changed" }
    end
    return pass()
  end,
}

-- R2: 政府機関等が当該 SaaS について実施した業務・情報の影響度評価の結果が「低位」であること.
-- By a body allowed to assess on its day (インセンティブ③), given by a route (通知 3).

-- The problem of the assessing body `who` on day `on`, or nil (an older
-- record may hold the notice's name for a code).
local function assessor_problem(who, on)
  local code = code_of(ASSESSOR_TYPES, who) or who
  local ok, allowed = allowed_on("assessor-eligibility", code, on)
  if ok then return nil end
  local ja, en = {}, {}
  for i, t in ipairs(allowed) do
    local n = ASSESSOR_TYPES[t] or { ja = t, en = t }
    ja[i], en[i] = n.ja .. "（" .. t .. "）", n.en .. " (" .. t .. ")"
  end
  local name = ASSESSOR_TYPES[code]
  return text("評価実施機関の種別「" .. (name and name.ja or shown(who)) .. "」は、" .. ja_date(on) ..
                "に影響度評価を実施できる機関ではありません。実施できるのは " .. table.concat(ja, "・") .. "です",
              "the assessing body, " .. shown(code) .. ", was not allowed to assess on " .. on ..
                "; allowed: " .. table.concat(en, ", "))
end

check "R2" {
  title = { ja = "業務・情報の影響度評価の結果が低位であること",
            en = "The business/information impact assessment result is low" },
  function (app, at)
    local ia = app.impact_assessment
    if type(ia) ~= "table" then
      return fail { ja = "業務・情報の影響度評価（impact_assessment）がありません",
                    en = "no business/information impact assessment (impact_assessment)" }
    end
    local problems = {}
    local function add(p) problems[#problems + 1] = p end
    if ia.result == nil then add(missing("impact_assessment.result"))
    elseif ia.result ~= "low" then
      local name = RESULT_NAMES[ia.result]
      add(text("影響度評価の結果が「低位」ではありません（" .. (name and name.ja or shown(ia.result)) .. "）",
               "the impact assessment result is not low (" .. shown(ia.result) .. ")"))
    end
    local on, why, later = day_of(ia.assessed_on, "impact_assessment.assessed_on", at,
      function (d) return date_floor_problem("impact_assessment.assessed_on", d) end,
      "影響度評価の実施日", "the impact assessment")
    if why then add(why) end
    on = on or later
    if ia.route == nil then
      add(text("評価の経路（impact_assessment.route）がありません。当該 SaaS を利用・調達する政府機関等（agency）か、ISMAP-LIU 相談窓口（consultation_desk）かを記録してください",
               "the route of the assessment (impact_assessment.route) is missing: record agency or consultation_desk"))
    elseif not code_of(ASSESSMENT_ROUTES, ia.route) then
      add(text("評価の経路に「" .. shown(ia.route) .. "」は指定できません。agency（当該 SaaS を利用・調達する政府機関等）または consultation_desk（ISMAP-LIU 相談窓口）を指定してください",
               "the route of the assessment \"" .. shown(ia.route) .. "\" is neither agency nor consultation_desk"))
    end
    if ia.assessor_type == nil then add(missing("impact_assessment.assessor_type"))
    elseif on then add(assessor_problem(ia.assessor_type, on)) end
    return judged(problems)
  end,
}

-- R3: ISMAP 管理基準のうち、ガバナンス基準・マネジメント基準の全項目、管理策基準の
-- 全統制目標（理由を付した除外を除く）及び末尾が B の詳細管理策（除外した統制目標の
-- 下のものを除く）を満たしていることを言明していること.  監査報告書は不要.

-- What a statement leaves unstated, part by part, in words.
local UNSTATED_PARTS = {
  { "governance", "ガバナンス基準", "governance criteria" },
  { "management", "マネジメント基準", "management criteria" },
  { "objectives", "統制目標", "control objectives" },
  { "noreason", "除外の理由がない統制目標", "control objectives excluded without a reason" },
  { "b_controls", "詳細管理策", "detailed controls ending in B" },
}

check "R3" {
  title = { ja = "ISMAP管理基準の必須項目を満たすことを言明していること",
            en = "The provider states that it meets the required ISMAP criteria" },
  function (app, at)
    local st = app.statement
    if type(st) ~= "table" then
      return fail { ja = "管理基準への適合の言明（statement）がありません",
                    en = "no statement of compliance with the ISMAP criteria (statement)" }
    end
    local v = st.criteria_version
    if v == nil then return fail(missing("statement.criteria_version")) end
    local crit = CRITERIA[v]
    if not crit then
      local titles = {}
      for i, k in ipairs(CRITERIA_VERSIONS) do titles[i] = wareki(CRITERIA[k].issued) .. "版" end
      return fail { ja = "管理基準の版「" .. shown(v) .. "」は登録されていません（登録されている版：" .. table.concat(titles, "、") .. "）",
                    en = "unknown edition of the criteria \"" .. shown(v) .. "\" (known: " .. table.concat(CRITERIA_VERSIONS, ", ") .. ")" }
    end
    local _, why = day_of(st.stated_on, "statement.stated_on", at,
      function (d) return stated_before_edition(d, crit) end, "言明日", "the statement")
    local problems = { why }
    if type(st.controls) ~= "table" then
      problems[#problems + 1] = text("管理基準の項目ごとの言明（statement.controls）がありません",
                                     "the statement lists no criteria (statement.controls)")
      return judged(problems)
    end
    local f = statement_findings(st.controls, crit)
    -- The pack's decision: 「全統制目標（理由を付した除外を除く）」 presumes
    -- objectives that are met; a statement excluding every one of them
    -- states nothing of the control criteria, and is not a statement of
    -- conformity with them.
    local n = #crit.objectives
    if n > 0 and #f.excluded == n then
      problems[#problems + 1] = text(
        "統制目標 " .. n .. " 件をすべて除外しており、管理策基準について満たすことを言明したものがありません",
        "every one of the " .. n .. " control objectives is excluded: nothing of the control criteria is stated as met")
    end
    local ja, en = {}, {}
    for _, part in ipairs(UNSTATED_PARTS) do
      local list = f[part[1]]
      if #list > 0 then
        ja[#ja + 1] = part[2] .. " " .. table.concat(list, "、")
        en[#en + 1] = string.format("%s: %d (%s)", part[3], #list, table.concat(list, ", "))
      end
    end
    if #ja > 0 then
      problems[#problems + 1] = text("言明されていない項目：" .. table.concat(ja, "、"),
        "not stated as met in the ISMAP criteria, edition " .. crit.version .. ": " .. table.concat(en, "; "))
    end
    return judged(problems)
  end,
}

-- R4: 登録申請の意思及び言明の内容について誓約書を提出していること: a pledge
-- dated before the statement is not a pledge of it.

check "R4" {
  title = { ja = "誓約書を提出していること", en = "A pledge has been submitted" },
  function (app, at)
    local pl = type(app.pledge) == "table" and app.pledge or {}
    if pl.submitted_on == nil then
      return fail { ja = "誓約書の提出日（pledge.submitted_on）がありません（誓約書が未提出です）",
                    en = "no pledge: its submission date (pledge.submitted_on) is missing" }
    end
    local stated = type(app.statement) == "table" and read_date(app.statement.stated_on)
    local d, why, later = day_of(pl.submitted_on, "pledge.submitted_on", at, function (d)
      return date_floor_problem("pledge.submitted_on", d)
             or (stated and pledged_before_statement(d, stated))
    end, "誓約書の提出日", "the pledge")
    if later then       -- a pledge dated later is not submitted yet
      return fail { ja = why.ja .. "（まだ提出されていません）",
                    en = "the pledge is dated " .. later .. ", after " .. date_of(at) .. " (not submitted yet)" }
    end
    return d and pass() or fail(why)
  end,
}

-- eval's `incentives`: each is available at `at` when the application was
-- confirmed that day, its measure is in force and it was not used by then;
-- with its label and that in words (record get).  Dates are days (eval_by_date).
function incentive_used_on(app, name)
  local u = type(app.incentives) == "table" and app.incentives[name]
  return type(u) == "table" and type(u.used_on) == "string" and u.used_on or nil
end

-- How a record that left the list says when: the state, and its field.
local LEFT_ON = { withdrawn = "withdrawal", rejected = "rejection", ended = "ended" }

-- Was the application confirmed (listed) on day d?  From confirmed_on and
-- the date it left the list, if it has.
function confirmed_on_day(app, rec, d)
  local from = type(app.confirmed_on) == "string" and app.confirmed_on
  if not from then return rec.state == "confirmed" end     -- no date kept: as it is now
  if d < from then return false end
  if rec.state == "confirmed" then return true end
  local left = LEFT_ON[rec.state] and app[LEFT_ON[rec.state]]
  if type(left) ~= "table" or type(left.on) ~= "string" then return false end
  return (rec.state == "ended" or left.was == "confirmed") and d < left.on
end

summary "incentives" (function (app, at, rec)
  local out, today = {}, date_of(at)
  local listed = confirmed_on_day(app, rec, today)
  for _, inc in ipairs(INCENTIVES) do
    local used = incentive_used_on(app, inc.name)
    if used and used > today then used = nil end       -- not used yet at `at`
    local ok = listed and in_force(inc.measure, at) and used == nil
    out[inc.name] = { available = ok, used_on = used, title = inc.label,
                      text = used and text("利用済み（" .. ja_date(used) .. "）", "used on " .. used)
                             or ok and text("利用できます", "available")
                             or text("利用できません", "not available") }
  end
  return out
end)
