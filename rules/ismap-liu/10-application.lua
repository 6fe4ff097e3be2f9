-- The record kind: one application per SaaS service (the notice of 2023-05-19), and the
-- validation of every field.  Validation refuses malformed data (wrong type,
-- impossible date, bad 法人番号, unknown value); whether the application
-- *meets* the requirements is judged by the checks (20-checks.lua).
--
-- Only service_name and provider_name are required on submission: the rest may
-- come later with `amend`, and until it does the checks say what is missing.
-- Dates may be given as 2023-06-01, 2023-06-01T10:00+09:00 or 令和5年6月1日;
-- they are stored as 2023-06-01 (JST).

-- The fields of an application, as filed by the secretariat.
APPLICATION_FIELDS = {
  service_name = true, provider_name = true, provider_corporate_number = true,
  impact_assessment = true, statement = true, pledge = true,
  planned_liu_application = true, certifications = true,
}
-- What the pack itself records (by actions and at expiry); never given in params.
SYSTEM_FIELDS = {
  confirmed_on = true, liu_filings = true, incentives = true,
  rejection = true, withdrawal = true, lapsed = true, ended = true,
}
REQUIRED_FIELDS = { "service_name", "provider_name" }

-- 影響度評価の結果 (業務・情報の影響度評価)
RESULTS = { low = "低位", moderate = "中位", high = "高位" }
RESULT_NAMES = {
  low = { ja = "低位", en = "low" }, moderate = { ja = "中位", en = "moderate" }, high = { ja = "高位", en = "high" },
}

-- The planned time of the ISMAP-LIU filing: one label everywhere (the record,
-- the reasons, the views).
PLAN_LABEL = { ja = "ISMAP-LIU 申請（事前申請を含む）の予定時期",
               en = "Planned ISMAP-LIU application (pre-application included)" }

-- Field names in Japanese, for reasons.
LABELS = {
  service_name = "サービス名",
  provider_name = "事業者名",
  provider_corporate_number = "法人番号",
  impact_assessment = "業務・情報の影響度評価",
  ["impact_assessment.assessor"] = "評価実施機関",
  ["impact_assessment.assessor_type"] = "評価実施機関の種別",
  ["impact_assessment.route"] = "評価の経路",
  ["impact_assessment.result"] = "影響度評価の結果",
  ["impact_assessment.assessed_on"] = "影響度評価の実施日",
  statement = "管理基準への適合の言明",
  ["statement.criteria_version"] = "管理基準の版",
  ["statement.stated_on"] = "言明日",
  ["statement.controls"] = "管理基準の項目ごとの言明",
  pledge = "誓約書",
  ["pledge.submitted_on"] = "誓約書の提出日",
  planned_liu_application = PLAN_LABEL.ja,
  certifications = "その他の第三者認証",
  ["certifications.name"] = "認証の名称",
  ["certifications.valid_until"] = "認証の有効期限",
}

-- "certifications[2].name" -> 認証の名称; "statement.controls.9.2.3" -> 統制目標 9.2.3
-- (the part of the criteria of the 2022-04-01 edition, or of `ed`).
function label_of(field, ed)
  local k = field:gsub("%[%d+%]", "")
  if LABELS[k] then return LABELS[k] end
  local id = field:match("^statement%.controls%.(.+)$")
  ed = ed or CRITERIA[CRITERIA_VERSIONS[#CRITERIA_VERSIONS]]
  if id and ed then return criterion_name(ed, id).ja end
  return k
end

-- A code given as itself or by one of its names: trimmed, spaces (ASCII and
-- 全角) removed, ASCII lower-cased.  names[code] = {ja, en, aliases?}.
-- Returns the code, or nil.
local function squeeze(v)
  return (v:gsub("%s", ""):gsub("\227\128\128", ""):lower())
end
function code_of(names, v)
  if type(v) ~= "string" then return nil end
  local want = squeeze(v)
  for code, n in pairs(names) do
    if squeeze(code) == want or squeeze(n.ja) == want or squeeze(n.en) == want then return code end
    for _, a in ipairs(n.aliases or {}) do
      if squeeze(a) == want then return code end
    end
  end
  return nil
end

-- A date of field `field` earlier than the pack accepts (DATE_FLOORS,
-- 00-pack.lua): what to say, as a predicate ("is before …"), or nil.
function date_floor_problem(field, d)
  local f = DATE_FLOORS[field]
  if f and d < f.on then
    return text(f.ja .. "（" .. ja_date(f.on) .. "）より前です", "is before " .. f.en .. " (" .. f.on .. ")")
  end
  return nil
end

-- The same for a statement (not before its edition) and a pledge (not before
-- the statement it pledges).
function stated_before_edition(d, ed)
  if d < ed.issued then
    return text("言明が依拠する" .. ed.title.ja .. "の発行日（" .. ja_date(ed.issued) .. "）より前です",
                "is before the edition it is made against (" .. ed.issued .. ")")
  end
  return nil
end
function pledged_before_statement(d, stated)
  if d < stated then
    return text("誓約の対象である言明の日付（" .. ja_date(stated) .. "）より前です",
                "is before the statement it pledges (" .. stated .. ")")
  end
  return nil
end

local KEYS = {
  impact_assessment = { assessor = true, assessor_type = true, route = true, result = true, assessed_on = true },
  statement = { criteria_version = true, stated_on = true, controls = true },
  pledge = { submitted_on = true },
  certification = { name = true, valid_until = true },
}
local MAX_CONTROL_ERRORS = 20     -- past this, one line says how many more

-- "a (x), b (y) or c (z)" from codes and their names.
local function codes_text(order, names)
  local ja, en = {}, {}
  for i, code in ipairs(order) do
    ja[i] = code .. "（" .. names[code].ja .. "）"
    en[i] = code .. " (" .. names[code].en .. ")"
  end
  local last_en = table.remove(en)
  return text(table.concat(ja, "、"), (#en > 0 and table.concat(en, ", ") .. " or " or "") .. last_en)
end

-- validate_application(app, err, at, changed): calls err(field, ja, en) per
-- problem and normalises what it accepts.  `changed` is the set of top-level
-- fields to look at (nil: all of them, for a new application); the others were
-- validated when they were written, and an amend of one field then costs the
-- same whatever the size of the statement.  Also used by `amend` (30-actions.lua).
-- The client prints the field before each reason: the reason names it in
-- words (Japanese) or not at all (English), never by its path again.
function validate_application(app, err, at, changed)
  local function want(k) return changed == nil or changed[k] ~= nil end
  -- A field to look at, or nil: a field not looked at is not read (the
  -- daemon reads the statement into Lua only when a rule touches it).
  local function wanted(k) if want(k) then return app[k] end return nil end
  local function bad(field, why)
    err(field, label_of(field) .. "は" .. why.ja, why.en)
  end
  local function missing(field)
    bad(field, text("必須です", "is required"))
  end
  -- A text field: trimmed and stored back.
  local function text_field(t, key, path, max, required)
    local v = t[key]
    if v == nil then if required then missing(path) end return end
    local s, why = clean_text(v, max)
    if not s then return bad(path, why) end
    t[key] = s
  end
  -- A date field: stored back as YYYY-MM-DD; nil when not a date.
  local function date_field(t, key, path, required)
    local v = t[key]
    if v == nil then if required then missing(path) end return end
    local d, why = civil_date(v)
    if not d then
      -- The host's "not a date (use …)" says what this line says: said once.
      local form = tostring(why.en):find("^not a date") ~= nil
      return bad(path, text("日付として読めません" .. (form and "" or ": " .. why.ja) .. "（例: 2023-06-01、2023/6/1、令和5年6月1日、令和7年3月末）",
                            "not a date" .. (form and "" or ": " .. why.en) .. " (e.g. 2023-06-01, 2023/6/1, 令和5年6月1日 or 令和7年3月末)"))
    end
    t[key] = d
    local early = date_floor_problem(path, d)
    if early then bad(path, early); return nil end
    return d
  end
  -- A code of `names` (or one of its names): stored back as the code.
  local function code_field(t, key, path, names, order, required)
    local v = t[key]
    if v == nil then if required then missing(path) end return end
    local code = code_of(names, v)
    if not code then
      local list = codes_text(order, names)
      return bad(path, text("「" .. shown(v) .. "」ではなく、" .. list.ja .. " のいずれかです",
                            "must be " .. list.en .. " (not `" .. shown(v) .. "`)"))
    end
    t[key] = code
  end
  -- An object with known keys only.
  local function object(v, path, keys)
    if type(v) ~= "table" or (next(v) ~= nil and is_list(v)) then
      bad(path, text("項目の組（オブジェクト）ではありません", "must be an object"))
      return false
    end
    for k in pairs(v) do
      if not keys[k] then
        bad(path .. "." .. tostring(k), text("不明な項目です（使える項目: " .. sorted_keys(keys) .. "）",
                                             "unknown field (known: " .. sorted_keys(keys) .. ")"))
      end
    end
    return true
  end

  -- the record as a whole
  for k in pairs(changed or app) do
    if app[k] ~= nil and not APPLICATION_FIELDS[k] and not SYSTEM_FIELDS[k] then
      bad(tostring(k), text("不明な項目です（使える項目: " .. sorted_keys(APPLICATION_FIELDS) .. "）",
                            "unknown field (known: " .. sorted_keys(APPLICATION_FIELDS) .. ")"))
    end
  end

  if want("service_name") then text_field(app, "service_name", "service_name", 200, true) end
  if want("provider_name") then text_field(app, "provider_name", "provider_name", 200, true) end

  -- 法人番号: 13 digits with a valid check digit (optional).
  local cn = wanted("provider_corporate_number")
  if cn ~= nil then
    if type(cn) ~= "string" then
      bad("provider_corporate_number", text("13桁の数字の文字列で書いてください", "must be a text of 13 digits"))
    else
      cn = ascii_digits(trim(cn))
      if not cn:match("^%d+$") or #cn ~= 13 then
        bad("provider_corporate_number", text("13桁の数字ではありません", "is not 13 digits"))
      elseif not corporate_number_ok(cn) then
        bad("provider_corporate_number", text("チェックデジット（先頭の1桁）が正しくありません",
                                              "the check digit (first digit) is wrong"))
      else
        app.provider_corporate_number = cn
      end
    end
  end

  -- 業務・情報の影響度評価 (R2)
  local ia = wanted("impact_assessment")
  if ia ~= nil and object(ia, "impact_assessment", KEYS.impact_assessment) then
    text_field(ia, "assessor", "impact_assessment.assessor", 200, true)
    -- The notice's names stand for the codes; any other body is stored as
    -- given, and R2 says that it may not assess (measure ③).
    text_field(ia, "assessor_type", "impact_assessment.assessor_type", 100, true)
    if type(ia.assessor_type) == "string" then
      ia.assessor_type = code_of(ASSESSOR_TYPES, ia.assessor_type) or ia.assessor_type
    end
    code_field(ia, "route", "impact_assessment.route", ASSESSMENT_ROUTES, ASSESSMENT_ROUTE_ORDER, false)
    -- The result as its code or its label (「低位」, as the sheet shows it).
    if type(ia.result) == "string" then ia.result = code_of(RESULT_NAMES, ia.result) or ia.result end
    if ia.result == nil then
      missing("impact_assessment.result")
    elseif not RESULTS[ia.result] then
      bad("impact_assessment.result", text("low（低位）、moderate（中位）、high（高位）のいずれかです（「" .. shown(ia.result) .. "」）",
                                           "must be low, moderate or high (not `" .. shown(ia.result) .. "`)"))
    end
    date_field(ia, "assessed_on", "impact_assessment.assessed_on", true)
  end

  -- 言明 (R3)
  local st = wanted("statement")
  local stated
  if st ~= nil and object(st, "statement", KEYS.statement) then
    local crit
    local v = st.criteria_version
    if v == nil then
      missing("statement.criteria_version")
    elseif type(v) ~= "string" or not CRITERIA[v] then
      bad("statement.criteria_version",
          text("不明な版です（「" .. shown(v) .. "」、使える版: " .. table.concat(CRITERIA_VERSIONS, "、") .. "）",
               "unknown edition `" .. shown(v) .. "` (known: " .. table.concat(CRITERIA_VERSIONS, ", ") .. ")"))
    else
      crit = CRITERIA[v]
    end
    stated = date_field(st, "stated_on", "statement.stated_on", true)
    if stated and crit then
      local early = stated_before_edition(stated, crit)
      if early then bad("statement.stated_on", early) end
    end
    local controls = st.controls
    if controls == nil then
      missing("statement.controls")
    elseif type(controls) ~= "table" or (next(controls) ~= nil and is_list(controls)) then
      bad("statement.controls", text("識別子ごとに「met」（満たす）または除外の理由（excluded）を書いた組ではありません",
                                     "must map identifiers to \"met\" or to an exclusion with its reason (excluded)"))
    elseif crit then
      local errors = 0
      control_errors(controls, crit, function (id, why)
        errors = errors + 1
        if errors <= MAX_CONTROL_ERRORS then err("statement.controls." .. tostring(id), why.ja, why.en) end
      end)
      if errors > MAX_CONTROL_ERRORS then
        err("statement.controls",
            string.format("ほかに %d 件の誤りがあります", errors - MAX_CONTROL_ERRORS),
            string.format("%d more errors", errors - MAX_CONTROL_ERRORS))
      end
    end
  end

  -- 誓約書 (R4): not before the statement it pledges (which is read only
  -- when the pledge or the statement changes).
  local pl = wanted("pledge")
  local pledged
  if pl ~= nil and object(pl, "pledge", KEYS.pledge) then
    pledged = date_field(pl, "submitted_on", "pledge.submitted_on", true)
  end
  if (pledged or stated) and not (pledged and stated == nil and st ~= nil) then
    local s = type(app.statement) == "table" and civil_date(app.statement.stated_on)
    local p = type(app.pledge) == "table" and civil_date(app.pledge.submitted_on)
    local late = s and p and pledged_before_statement(p, s)
    if late then bad("pledge.submitted_on", late) end
  end

  -- ISMAP-LIU 申請の予定時期 (R1): a month or a day.
  if app.planned_liu_application ~= nil and want("planned_liu_application") then
    local p, why = planned_time(app.planned_liu_application)
    if not p then bad("planned_liu_application", why)
    else app.planned_liu_application = p end
  end

  -- その他の第三者認証 (ISO/IEC 27001, 27017, SOC 2 …): shown in the service list.
  local certs = wanted("certifications")
  if certs ~= nil then
    if type(certs) ~= "table" or not is_list(certs) then
      bad("certifications", text("リスト（[{name, valid_until}]）ではありません", "must be a list of {name, valid_until}"))
    else
      for i, c in ipairs(certs) do
        local path = "certifications[" .. i .. "]"
        if object(c, path, KEYS.certification) then
          text_field(c, "name", path .. ".name", 100, true)
          date_field(c, "valid_until", path .. ".valid_until", false)
        end
      end
      app.certifications = as_list(certs)
    end
  end
end

kind "application" {
  title = { ja = "特別措置の適用申請", en = "Special-measure application" },
  id_prefix = "LIU-",
  -- what `liuctl record list` shows of each application, after its id,
  -- kind, state and update time
  summary_fields = {
    { id = "service_name",  ja = "サービス名", en = "Service name" },
    { id = "provider_name", ja = "事業者名",   en = "Provider" },
  },
  -- what `liuctl record get` shows first (45-summary.lua)
  summary = function (app, at, rec) return application_summary(app, at, rec) end,
  -- what `liuctl record list --search` looks in (with the record's id)
  search_fields = { "service_name", "provider_name", "provider_corporate_number" },
  -- submitted 申請受付 → confirmed 確認済み（サービスリスト掲載）→ ended 運用期間終了
  --           → rejected 却下 / withdrawn 取下げ / lapsed 期間内に確認されず失効
  states = { "submitted", "confirmed", "rejected", "withdrawn", "lapsed", "ended" },
  -- the states in words, for refusals (never the codes)
  state_titles = {
    submitted = { ja = "申請受付", en = "submitted" },
    confirmed = { ja = "確認済み", en = "confirmed (listed)" },
    rejected  = { ja = "却下", en = "rejected" },
    withdrawn = { ja = "取下げ", en = "withdrawn" },
    lapsed    = { ja = "失効（運用期間内に確認されず）", en = "lapsed (not confirmed within the period)" },
    ended     = { ja = "運用期間終了", en = "ended with the period" },
  },
  validate = validate_application,
  -- The columns of `liuctl export` (CSV and .xlsx) in this order, labelled;
  -- import reads the labels back as headers.  What the pack records itself
  -- (confirmed_on, liu_filings, …) follows, after these.
  sheet = {
    { "service_name",                   ja = LABELS.service_name, en = "Service name" },
    { "provider_name",                  ja = LABELS.provider_name, en = "Provider" },
    { "provider_corporate_number",      ja = LABELS.provider_corporate_number, en = "Corporate number" },
    { "impact_assessment.assessor",     ja = LABELS["impact_assessment.assessor"], en = "Assessor" },
    { "impact_assessment.assessor_type", ja = LABELS["impact_assessment.assessor_type"], en = "Type of assessor" },
    { "impact_assessment.route",        ja = LABELS["impact_assessment.route"], en = "Route of the assessment" },
    { "impact_assessment.result",       ja = LABELS["impact_assessment.result"], en = "Impact level" },
    { "impact_assessment.assessed_on",  ja = LABELS["impact_assessment.assessed_on"], en = "Assessed on" },
    { "statement.criteria_version",     ja = LABELS["statement.criteria_version"], en = "Criteria edition" },
    { "statement.stated_on",            ja = LABELS["statement.stated_on"], en = "Stated on" },
    { "pledge.submitted_on",            ja = LABELS["pledge.submitted_on"], en = "Pledge submitted on" },
    { "planned_liu_application",        ja = PLAN_LABEL.ja, en = PLAN_LABEL.en },
    { "certifications",                 ja = LABELS.certifications, en = "Other third-party certifications" },
    { "statement.controls",             ja = LABELS["statement.controls"], en = "Statement per control" },
  },
  marking = HANDLING_MARKING,
  -- 「一度に限り」 and one listing are per service (issue of the notice's
  -- words: a service, not a record).  A service is its 法人番号 (or, until
  -- one is given, its provider's name) and its name, normalised for width,
  -- spaces and case; it has one live record (submitted or confirmed), and
  -- its incentive uses stay with it whatever becomes of its records.
  identity = {
    title = { ja = "サービス", en = "service" },
    fields = { { "provider_corporate_number", "provider_name" }, "service_name" },
    fields_title = { ja = "事業者（法人番号・事業者名）とサービス名", en = "provider (法人番号, name) and service name" },
    normalize = "nfkc-space-case",
    live = { "submitted", "confirmed" },
    keeps = { "incentives" },
  },
}
