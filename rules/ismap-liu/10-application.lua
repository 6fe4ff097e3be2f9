-- The record kind: one application per SaaS service, and what each of its
-- fields is (the core validates them); `validate` keeps the rules between
-- fields.  Whether the application *meets* the requirements is the checks'
-- (20-checks.lua): only the names are required on submission, the rest may
-- come later with `amend`, and until it does the checks say what is missing.

-- 影響度評価の結果 (業務・情報の影響度評価), accepted as the code or its label.
RESULT_NAMES = {
  low = { ja = "低位", en = "low" }, moderate = { ja = "中位", en = "moderate" }, high = { ja = "高位", en = "high" },
}

-- The planned time of the ISMAP-LIU filing: one label everywhere.
PLAN_LABEL = { ja = "ISMAP-LIU 申請（事前申請を含む）の予定時期",
               en = "Planned ISMAP-LIU application (pre-application included)" }

-- The earliest date a dated field may carry (a date's `min`): the pack's
-- decision, as the notice dates nothing before these.  An impact assessment
-- is made for ISMAP-LIU; a pledge under the special measure
-- (「特別措置の適用にあたって」).  `ja`, `en`: what began on that day.
local function floor(on, ja, en)
  return { on = on, ja = ja .. "日 " .. ja_date(on), en = en .. " (" .. on .. ")" }
end

APPLICATION = {
  service_name  = { type = "text", required = true, max = 200, ja = "サービス名", en = "Service name" },
  provider_name = { type = "text", required = true, max = 200, ja = "事業者名", en = "Provider" },
  -- 法人番号: 13 digits (全角 accepted) whose first is the check digit.
  provider_corporate_number = { type = "text", digits = true, ja = "法人番号", en = "Corporate number",
    pattern = "^%d%d%d%d%d%d%d%d%d%d%d%d%d$", pattern_why = text("13桁の数字ではありません", "is not 13 digits"),
    check = function (v)
      if not corporate_number_ok(v) then
        return text("チェックデジット（先頭の1桁）が正しくありません", "the check digit (first digit) is wrong")
      end
    end },
  -- 業務・情報の影響度評価 (R2).  Any body is stored as given (R2 says whether
  -- it may assess); the notice's names stand for their codes.
  impact_assessment = { type = "object", ja = "業務・情報の影響度評価", en = "Impact assessment", fields = {
    assessor      = { type = "text", required = true, max = 200, ja = "評価実施機関", en = "Assessor" },
    assessor_type = { type = "enum", open = true, max = 100, required = true, values = ASSESSOR_TYPES,
                      order = ASSESSOR_ORDER, ja = "評価実施機関の種別", en = "Type of the assessing body" },
    route         = { type = "enum", values = ASSESSMENT_ROUTES, order = ASSESSMENT_ROUTE_ORDER,
                      ja = "評価の経路", en = "Route of the assessment" },
    result        = { type = "enum", required = true, values = RESULT_NAMES, order = { "low", "moderate", "high" },
                      ja = "影響度評価の結果", en = "Result of the impact assessment" },
    assessed_on   = { type = "date", required = true,
                      min = floor(LIU_START, "ISMAP-LIU の開始", "ISMAP-LIU began"),
                      ja = "影響度評価の実施日", en = "Date of the impact assessment" },
  } },
  -- 言明 (R3): an edition of the criteria (02-criteria.lua), and per control
  -- "met" or { excluded = "reason" }.
  statement = { type = "object", ja = "管理基準への適合の言明", en = "Statement against the criteria", fields = {
    criteria_version = { type = "date", required = true, ja = "管理基準の版", en = "Criteria edition",
      check = function (v)
        if type(v) ~= "string" or not CRITERIA[v] then
          return text("不明な版です（「" .. shown(v) .. "」、使える版: " .. table.concat(CRITERIA_VERSIONS, "、") .. "）",
                      "unknown edition `" .. shown(v) .. "` (known: " .. table.concat(CRITERIA_VERSIONS, ", ") .. ")")
        end
      end },
    stated_on = { type = "date", required = true, ja = "言明日", en = "Date of the statement" },
    controls  = { type = "map", required = true, ja = "管理基準の項目ごとの言明", en = "Statement per control",
      -- a map: identifiers (dotted, 9.4.2.2) to "met" or { excluded = reason }
      check = function (v, app, bad)
        local crit = CRITERIA[app.statement.criteria_version]
        if crit then control_errors(v, crit, bad) end
      end },
  } },
  -- 誓約書 (R4)
  pledge = { type = "object", ja = "誓約書", en = "Pledge", fields = {
    submitted_on = { type = "date", required = true,
                     min = floor(date_of(measure_of("special-measure").starts), "特別措置の開始",
                                 "the special measure began"),
                     ja = "誓約書の提出日", en = "Date of the pledge" },
  } },
  -- ISMAP-LIU 申請の予定時期 (R1): a month or a day.
  planned_liu_application = { type = "month", or_date = true, ja = PLAN_LABEL.ja, en = PLAN_LABEL.en },
  -- その他の第三者認証 (ISO/IEC 27001, 27017, SOC 2 …): shown in the service list.
  certifications = { type = "list", ja = "その他の第三者認証", en = "Other third-party certifications",
    of = { type = "object", fields = {
      name        = { type = "text", required = true, max = 100, ja = "認証の名称", en = "Certification" },
      valid_until = { type = "date", ja = "認証の有効期限", en = "Valid until" },
    } } },
  -- What the pack records itself (actions, expiry); never given in params.
  confirmed_on = { recorded = true, ja = "確認日", en = "Confirmed on" },
  incentives = { recorded = true, ja = "インセンティブ", en = "Incentives" },
  liu_filings = { recorded = true, ja = "ISMAP-LIU 申請の記録", en = "ISMAP-LIU filings" },
  rejection = { recorded = true, ja = "却下", en = "Rejection" },
  withdrawal = { recorded = true, ja = "取下げ", en = "Withdrawal" },
  lapsed = { recorded = true, ja = "失効", en = "Lapsed" },
  ended = { recorded = true, ja = "運用期間終了", en = "Ended with the period" },
}

APPLICATION_FIELDS, SYSTEM_FIELDS = {}, {}
for k, f in pairs(APPLICATION) do
  if f.recorded then SYSTEM_FIELDS[k] = true else APPLICATION_FIELDS[k] = true end
end

-- The fields of an application as an action's params (`liuctl act --help`),
-- in name order; `required`: as submit requires them; then `extra`.
function application_params(required, extra)
  local out, names = {}, {}
  for k in pairs(APPLICATION_FIELDS) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    local f = APPLICATION[k]
    local words = k == "planned_liu_application" and PLAN_PARAM or f
    out[#out + 1] = { id = k, ja = words.ja, en = words.en, type = f.type == "text" and "text" or nil,
                      required = required and f.required or nil }
  end
  out[#out + 1] = extra
  return out
end

-- The declaration of a field by its path ("certifications[2].name"), for
-- its names in messages.
function field_of_app(path)
  return field_of("application", path) or { ja = path, en = path }
end

-- A field's name in Japanese: "certifications[2].name" -> 認証の名称;
-- "statement.controls.9.2.3" -> 統制目標 9.2.3 (of the latest edition, or `ed`).
function label_of(field, ed)
  local id = field:match("^statement%.controls%.(.+)$")
  ed = ed or CRITERIA[CRITERIA_VERSIONS[#CRITERIA_VERSIONS]]
  if id and ed then return criterion_name(ed, id).ja end
  return field_of_app(field).ja or field
end

-- A date earlier than its field's `min` allows, before its edition, or
-- before the statement it pledges: what to say ("is before …"), or nil.
function date_floor_problem(field, d)
  local f = (DATE_FIELDS[field] or field_of_app(field)).min
  if f and d < f.on then return text(f.ja .. "より前です", "is before " .. f.en) end
end
function stated_before_edition(d, ed)
  if d < ed.issued then
    return text("言明が依拠する" .. ed.title.ja .. "の発行日 " .. ja_date(ed.issued) .. "より前です",
                "is before the edition it is made against (" .. ed.issued .. ")")
  end
end
function pledged_before_statement(d, stated)
  if d < stated then
    return text("誓約の対象である言明の日付 " .. ja_date(stated) .. "より前です",
                "is before the statement it pledges (" .. stated .. ")")
  end
end

-- The rules between fields: a statement is not older than the edition it is
-- made against, nor a pledge than the statement it pledges.
local function validate_application(app, err, at, changed)
  if changed and not changed.statement and not changed.pledge then return end
  local st, pl = app.statement, app.pledge
  local crit = st and CRITERIA[st.criteria_version]
  local early = crit and stated_before_edition(st.stated_on, crit)
  if early then err("statement.stated_on", "言明日は" .. early.ja, early.en) end
  local late = st and pl and pledged_before_statement(pl.submitted_on, st.stated_on)
  if late then err("pledge.submitted_on", "誓約書の提出日は" .. late.ja, late.en) end
end

kind "application" {
  title = { ja = "特別措置の適用申請", en = "Special-measure application" },
  id_prefix = "LIU-",
  summary_fields = { "service_name", "provider_name" },
  summary = function (app, at, rec) return application_summary(app, at, rec) end,
  search_fields = { "service_name", "provider_name", "provider_corporate_number" },
  -- submitted 申請受付 → confirmed 確認済み（サービスリスト掲載）→ ended 運用期間終了
  --           → rejected 却下 / withdrawn 取下げ / lapsed 期間内に確認されず失効
  states = { "submitted", "confirmed", "rejected", "withdrawn", "lapsed", "ended" },
  state_titles = {
    submitted = { ja = "申請受付", en = "submitted" },
    confirmed = { ja = "確認済み", en = "confirmed (listed)" },
    rejected  = { ja = "却下", en = "rejected" },
    withdrawn = { ja = "取下げ", en = "withdrawn" },
    lapsed    = { ja = "失効（運用期間内に確認されず）", en = "lapsed (not confirmed within the period)" },
    ended     = { ja = "運用期間終了", en = "ended with the period" },
  },
  fields = APPLICATION,
  validate = validate_application,
  -- The columns of `liuctl export`, labelled by their fields; what the pack
  -- records itself follows.
  sheet = { "service_name", "provider_name", "provider_corporate_number",
    "impact_assessment.assessor", "impact_assessment.assessor_type", "impact_assessment.route",
    "impact_assessment.result", "impact_assessment.assessed_on", "statement.criteria_version",
    "statement.stated_on", "pledge.submitted_on", "planned_liu_application", "certifications",
    "statement.controls" },
  marking = HANDLING_MARKING,
  -- 「一度に限り」 and one listing are per service, not per record: a service
  -- is its 法人番号 (until one is given, its provider's name) and its name;
  -- it has one live record, and its incentive uses stay with it.
  identity = {
    title = { ja = "サービス", en = "service" },
    fields = { { "provider_corporate_number", "provider_name" }, "service_name" },
    fields_title = { ja = "事業者（法人番号・事業者名）とサービス名", en = "provider (法人番号, name) and service name" },
    normalize = "nfkc-space-case",
    live = { "submitted", "confirmed" },
    keeps = { "incentives" },
    changed = {
      ja = "サービス名・事業者名・法人番号は変更できません。別のサービスとする場合は、この記録を取り下げて新たに申請してください",
      en = "the service name, provider and corporate number cannot be changed: to make it another service, withdraw this record and submit a new application",
    },
  },
}
-- The dated fields the checks read on every eval, looked up once (field_of copies).
DATE_FIELDS = { ["impact_assessment.assessed_on"] = field_of_app("impact_assessment.assessed_on"),
                ["pledge.submitted_on"] = field_of_app("pledge.submitted_on") }
