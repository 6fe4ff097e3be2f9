-- 適用要件 (requirements) of the notice, judged by `eval` and applied by
-- `confirm` (30-actions.lua).  An application is eligible when the special
-- measure is in force and R1–R4 all hold (the notice of 2023-05-19).
--
-- The checks are the requirements: `confirm` (30-actions.lua) applies them
-- through evaluate(), as eval shows them.  Every check copes with missing or
-- malformed data: it fails and says what is missing.

-- One failing check with several problems: "…。…" / "…; …".
local function fail_all(problems)
  return fail(join_texts(problems))
end

local function table_or_nil(v) return type(v) == "table" and v or nil end

-- A field missing, or not a date: named in words and by its path.
local function missing(path)
  local f = field_of(path)
  return text(f.ja .. "（" .. path .. "）がありません", "the " .. f.en:lower() .. " (" .. path .. ") is missing")
end
local function not_a_date(path)
  local f = field_of(path)
  return text(f.ja .. "（" .. path .. "）が日付として読めません", "the " .. f.en:lower() .. " (" .. path .. ") is not a date")
end

-- The requirements as an official names them in a refusal (never "R1").
REQUIREMENT_NAMES = {
  period = text("特別措置の運用期間", "the period of the special measure"),
  R1 = text("適用要件1（ISMAP-LIU 申請の予定）", "requirement 1 (a planned ISMAP-LIU filing)"),
  R2 = text("適用要件2（影響度評価の結果が低位）", "requirement 2 (a low impact assessment)"),
  R3 = text("適用要件3（管理基準への適合の言明）", "requirement 3 (the statement against the criteria)"),
  R4 = text("適用要件4（誓約書の提出）", "requirement 4 (the pledge)"),
}

-- ---------------------------------------------------------------- 運用期間

check "period" {
  title = { ja = "特別措置の運用期間内であること", en = "The special measure is in force" },
  function (app, at)
    if in_force("special-measure", at) then return pass { ja = "運用期間内です", en = "within the period" } end
    local m = measure_of("special-measure")
    local period = period_text("special-measure")
    if at < m.starts then
      return fail { ja = "特別措置の運用期間は" .. period.ja .. "で、まだ始まっていません",
                    en = "the special measure (" .. period.en .. ") has not started yet" }
    end
    return fail { ja = "特別措置の運用期間は" .. period.ja .. "で、既に終了しています",
                  en = "the special measure (" .. period.en .. ") has ended" }
  end,
}

-- ---------------------------------------------------------------- R1
-- 運用期間内に ISMAP-LIU の登録申請（事前申請を含む）を提出される予定であること.
-- Met by a planned time (planned_liu_application, a month or a day) within the
-- period and not yet wholly past at the decision (a time already past with no
-- filing is not a plan), or by an ISMAP-LIU application / pre-application
-- already filed within the period (recorded by `file_liu_application`).

check "R1" {
  title = { ja = "運用期間内にISMAP-LIUの登録申請（事前申請を含む）を提出する予定であること",
            en = "An ISMAP-LIU application (or pre-application) is planned within the period" },
  function (app, at)
    if filing_in_period(app, date_of(at)) then return pass() end
    local period = period_text("special-measure")
    local v = app.planned_liu_application
    if v == nil then
      return fail { ja = PLAN_LABEL.ja .. "（planned_liu_application）がなく、運用期間内の ISMAP-LIU 申請の記録もありません",
                    en = "no planned time of the ISMAP-LIU application or pre-application (planned_liu_application), and no such filing recorded within the period" }
    end
    local p, why = read_month(v, true)
    if not p then
      return fail { ja = PLAN_LABEL.ja .. "（planned_liu_application）が読めません: " .. why.ja,
                    en = "the planned time of the ISMAP-LIU application (planned_liu_application) cannot be read: " .. why.en }
    end
    if not within("special-measure", p) then
      return fail { ja = "予定時期 " .. ja_date(p) .. "は、運用期間（" .. period_wareki("special-measure") .. "）内ではありません",
                    en = "the planned ISMAP-LIU application (" .. p .. ") is not within the period (" .. period.en .. ")" }
    end
    -- A plan wholly past (its day, or its month, before today's).
    local today = date_of(at)
    if p < today:sub(1, #p) then
      return fail { ja = "予定時期 " .. ja_date(p) .. "は判定日 " .. ja_date(today) ..
                         "の時点で既に過ぎており、ISMAP-LIU 申請の記録もありません。予定が変わった場合は新しい予定時期を記録してください",
                    en = "the planned time of the ISMAP-LIU filing (" .. p .. ") passed before " .. today ..
                         ", and no filing is recorded: record the new planned time if the plan changed" }
    end
    return pass()
  end,
}

-- ---------------------------------------------------------------- R2
-- 政府機関等が当該 SaaS について実施した業務・情報の影響度評価の結果が「低位」であること.
-- The assessor must be a body allowed to assess on the day of the assessment
-- (measure "assessor-eligibility", インセンティブ③, 00-pack.lua), and the
-- record says by which route the assessment was given (通知 3).

local function assessor_names(list)
  local ja, en = {}, {}
  for i, t in ipairs(list) do
    local n = ASSESSOR_TYPES[t] or { ja = t, en = t }
    ja[i], en[i] = n.ja .. "（" .. t .. "）", n.en .. " (" .. t .. ")"
  end
  return table.concat(ja, "・"), table.concat(en, ", ")
end

check "R2" {
  title = { ja = "業務・情報の影響度評価の結果が低位であること",
            en = "The business/information impact assessment result is low" },
  function (app, at)
    local ia = table_or_nil(app.impact_assessment)
    if not ia then
      return fail { ja = "業務・情報の影響度評価（impact_assessment）がありません",
                    en = "no business/information impact assessment (impact_assessment)" }
    end
    local problems = {}
    if ia.result == nil then
      problems[#problems + 1] = missing("impact_assessment.result")
    elseif ia.result ~= "low" then
      local name = RESULTS[ia.result]
      problems[#problems + 1] = text(
        "影響度評価の結果が「低位」ではありません（" .. (name or shown(ia.result)) .. "）",
        "the impact assessment result is not low (" .. shown(ia.result) .. ")")
    end
    local on = read_date(ia.assessed_on)
    if ia.assessed_on == nil then
      problems[#problems + 1] = missing("impact_assessment.assessed_on")
    elseif not on then
      problems[#problems + 1] = not_a_date("impact_assessment.assessed_on")
    elseif date_floor_problem("impact_assessment.assessed_on", on) then
      local why = date_floor_problem("impact_assessment.assessed_on", on)
      problems[#problems + 1] = text("影響度評価の実施日 " .. ja_date(on) .. "は" .. why.ja,
                                     "the impact assessment (" .. on .. ") " .. why.en)
      on = nil
    elseif on > date_of(at) then
      problems[#problems + 1] = text("影響度評価の実施日 " .. ja_date(on) .. "は判定日 " .. ja_date(date_of(at)) .. "より後です",
                                     "the impact assessment (" .. on .. ") is dated after " .. date_of(at))
    end
    if ia.route == nil then
      problems[#problems + 1] = text("評価の経路（impact_assessment.route）がありません。当該 SaaS を利用・調達する政府機関等（agency）か、ISMAP-LIU 相談窓口（consultation_desk）かを記録してください",
                                     "the route of the assessment (impact_assessment.route) is missing: record agency or consultation_desk")
    elseif not code_of(ASSESSMENT_ROUTES, ia.route) then
      problems[#problems + 1] = text("評価の経路に「" .. shown(ia.route) .. "」は指定できません。agency（当該 SaaS を利用・調達する政府機関等）または consultation_desk（ISMAP-LIU 相談窓口）を指定してください",
                                     "the route of the assessment \"" .. shown(ia.route) .. "\" is neither agency nor consultation_desk")
    end
    local who = ia.assessor_type
    if who == nil then
      problems[#problems + 1] = missing("impact_assessment.assessor_type")
    elseif on then
      -- Records written before the notice's names were read as codes may
      -- hold a name: it stands for its code.
      local code = code_of(ASSESSOR_TYPES, who) or who
      local ok, allowed = allowed_on("assessor-eligibility", code, on)
      if not ok then
        local ja, en = assessor_names(allowed)
        local name = ASSESSOR_TYPES[code]
        problems[#problems + 1] = text(
          "評価実施機関の種別「" .. (name and name.ja or shown(who)) .. "」は、" .. ja_date(on) .. "に影響度評価を実施できる機関ではありません。実施できるのは " .. ja .. "です",
          "the assessing body, " .. shown(code) .. ", was not allowed to assess on " .. on .. "; allowed: " .. en)
      end
    end
    if #problems > 0 then return fail_all(problems) end
    return pass()
  end,
}

-- ---------------------------------------------------------------- R3
-- ISMAP 管理基準のうち、ガバナンス基準・マネジメント基準の全項目、管理策基準の
-- 全統制目標（理由を付した除外を除く）及び末尾が B の詳細管理策（除外した統制目標の
-- 下のものを除く）を満たしていることを言明していること.  監査報告書は不要.
-- The identifiers come from data/ (02-criteria.lua), by statement.criteria_version.

check "R3" {
  title = { ja = "ISMAP管理基準の必須項目を満たすことを言明していること",
            en = "The provider states that it meets the required ISMAP criteria" },
  function (app, at)
    local st = table_or_nil(app.statement)
    if not st then
      return fail { ja = "管理基準への適合の言明（statement）がありません",
                    en = "no statement of compliance with the ISMAP criteria (statement)" }
    end
    local v = st.criteria_version
    if v == nil then
      return fail(missing("statement.criteria_version"))
    end
    local crit = CRITERIA[v]
    if not crit then
      local titles = {}
      for i, k in ipairs(CRITERIA_VERSIONS) do titles[i] = wareki(CRITERIA[k].issued) .. "版" end
      return fail { ja = "管理基準の版「" .. shown(v) .. "」は登録されていません（登録されている版：" .. table.concat(titles, "、") .. "）",
                    en = "unknown edition of the criteria \"" .. shown(v) .. "\" (known: " .. table.concat(CRITERIA_VERSIONS, ", ") .. ")" }
    end
    local problems = {}
    local on = read_date(st.stated_on)
    if st.stated_on == nil then
      problems[#problems + 1] = missing("statement.stated_on")
    elseif not on then
      problems[#problems + 1] = not_a_date("statement.stated_on")
    elseif stated_before_edition(on, crit) then
      local why = stated_before_edition(on, crit)
      problems[#problems + 1] = text("言明日 " .. ja_date(on) .. "は" .. why.ja, "the statement (" .. on .. ") " .. why.en)
    elseif on > date_of(at) then
      problems[#problems + 1] = text("言明日 " .. ja_date(on) .. "は判定日 " .. ja_date(date_of(at)) .. "より後です",
                                     "the statement (" .. on .. ") is dated after " .. date_of(at))
    end
    local controls = table_or_nil(st.controls)
    if not controls then
      problems[#problems + 1] = text("管理基準の項目ごとの言明（statement.controls）がありません",
                                     "the statement lists no criteria (statement.controls)")
      return fail_all(problems)
    end
    local f = statement_findings(controls, crit)
    local ja, en = {}, {}
    local function part(list, pja, pen)
      if #list > 0 then
        local ids = table.concat(list, ", ")
        ja[#ja + 1] = pja .. " " .. table.concat(list, "、")
        en[#en + 1] = string.format("%s: %d (%s)", pen, #list, ids)
      end
    end
    part(f.governance, "ガバナンス基準", "governance criteria")
    part(f.management, "マネジメント基準", "management criteria")
    part(f.objectives, "統制目標", "control objectives")
    part(f.noreason, "除外の理由がない統制目標", "control objectives excluded without a reason")
    part(f.b_controls, "詳細管理策", "detailed controls ending in B")
    -- The pack's decision: 「全統制目標（理由を付した除外を除く）」 presumes
    -- objectives that are met; a statement excluding every one of them
    -- states nothing of the control criteria, and is not a statement of
    -- conformity with them.
    if #crit.objectives > 0 and #f.excluded == #crit.objectives then
      problems[#problems + 1] = text(
        "統制目標 " .. #crit.objectives .. " 件をすべて除外しており、管理策基準について満たすことを言明したものがありません",
        "every one of the " .. #crit.objectives .. " control objectives is excluded: nothing of the control criteria is stated as met")
    end
    if #ja > 0 then
      problems[#problems + 1] = text(
        "言明されていない項目：" .. table.concat(ja, "、"),
        "not stated as met in the ISMAP criteria, edition " .. crit.version .. ": " .. table.concat(en, "; "))
    end
    if #problems > 0 then return fail_all(problems) end
    return pass()
  end,
}

-- ---------------------------------------------------------------- R4
-- 登録申請の意思及び言明の内容について誓約書を提出していること: a pledge dated before
-- the statement is not a pledge of it.

check "R4" {
  title = { ja = "誓約書を提出していること", en = "A pledge has been submitted" },
  function (app, at)
    local pl = table_or_nil(app.pledge)
    if not pl or pl.submitted_on == nil then
      return fail { ja = "誓約書の提出日（pledge.submitted_on）がありません（誓約書が未提出です）",
                    en = "no pledge: its submission date (pledge.submitted_on) is missing" }
    end
    local d = read_date(pl.submitted_on)
    if not d then
      return fail(not_a_date("pledge.submitted_on"))
    end
    local st = table_or_nil(app.statement)
    local stated = st and read_date(st.stated_on)
    local early = date_floor_problem("pledge.submitted_on", d) or (stated and pledged_before_statement(d, stated))
    if early then
      return fail { ja = "誓約書の提出日 " .. ja_date(d) .. "は" .. early.ja, en = "the pledge (" .. d .. ") " .. early.en }
    end
    if d > date_of(at) then
      return fail { ja = "誓約書の提出日 " .. ja_date(d) .. "は判定日 " .. ja_date(date_of(at)) .. "より後です（まだ提出されていません）",
                    en = "the pledge is dated " .. d .. ", after " .. date_of(at) .. " (not submitted yet)" }
    end
    return pass()
  end,
}

-- ---------------------------------------------------------------- incentives ① ②
-- eval's `incentives`: each is available at `at` when the application was
-- confirmed on that day, its measure is in force at `at`, and it had not
-- been used by then (once only).  Dates are days (JST), like every date the
-- record keeps: the answer is the same all day (eval_by_date).

function incentive_used_on(app, name)
  local incs = table_or_nil(app.incentives)
  local u = incs and table_or_nil(incs[name])
  return u and type(u.used_on) == "string" and u.used_on or nil
end

-- How a record that left the list says when: the state, and its field.
local LEFT_ON = { withdrawn = "withdrawal", rejected = "rejection", ended = "ended" }

-- Was the application confirmed (listed) on day d?  Read from what the
-- record keeps: confirmed_on, and the date it left the list, if it has.
function confirmed_on_day(app, rec, d)
  local from = type(app.confirmed_on) == "string" and app.confirmed_on
  if not from then return rec.state == "confirmed" end     -- no date kept: as it is now
  if d < from then return false end
  if rec.state == "confirmed" then return true end
  local left = LEFT_ON[rec.state] and table_or_nil(app[LEFT_ON[rec.state]])
  if not left or type(left.on) ~= "string" then return false end
  if rec.state ~= "ended" and left.was ~= "confirmed" then return false end
  return d < left.on
end

summary "incentives" (function (app, at, rec)
  local out = {}
  local today = date_of(at)
  local listed = confirmed_on_day(app, rec, today)
  for _, inc in ipairs(INCENTIVES) do
    local used = incentive_used_on(app, inc.name)
    if used and used > today then used = nil end       -- not used yet at `at`
    out[inc.name] = {
      available = listed and in_force(inc.measure, at) and used == nil,
      used_on = used,
    }
  end
  return out
end)
