-- Views: read-only lists.
--
-- Cells are bilingual ("日本語 / English") unless the caller asks for one
-- language with params `lang = "ja"` or `lang = "en"`.

-- The handling marking of every list of the measure: shared with government
-- bodies only, never published.  The daemon puts it in every format of the
-- view (the CSV's first line, the HTML page, the JSON reply, liuctl's table).
-- The list's handling marking (the pack's one marking, 00-pack.lua): every
-- format of the list carries it.
LIST_MARKING = HANDLING_MARKING
local MARKING = LIST_MARKING

local function say(params, ja, en)
  if params.lang == "ja" then return ja end
  if params.lang == "en" then return en end
  if ja == en then return ja end
  return ja .. " / " .. en
end

local STATUS = {
  confirmed = { ja = "掲載中（運用期間中）", en = "listed (period running)" },
  ended     = { ja = "運用期間終了", en = "period ended" },
}

-- How an application is shown as a planned time: "2024-10" or "2024-10-01".
local function planned(app)
  local p = read_month(app.planned_liu_application or "", true)
  return p or ""
end

-- The ISMAP-LIU filings, as one cell: "事前申請 令和6年2月1日" / "pre-application
-- 2024-02-01" (和暦 in Japanese, as the list is read).
local function filings_cell(app, params)
  local ja, en = {}, {}
  if type(app.liu_filings) == "table" then
    for _, f in ipairs(app.liu_filings) do
      if type(f) == "table" and FILING_TYPES[f.type] then
        ja[#ja + 1] = FILING_TYPES[f.type].ja .. " " .. wareki(shown(f.filed_on))
        en[#en + 1] = FILING_TYPES[f.type].en .. " " .. shown(f.filed_on)
      end
    end
  end
  if #ja == 0 then return say(params, "未申請", "none") end
  return say(params, table.concat(ja, "、"), table.concat(en, ", "))
end

-- The filings' column, written as the plan's label is (「ISMAP-LIU 申請」).
FILINGS_LABEL = { ja = "ISMAP-LIU 申請の状況", en = "ISMAP-LIU filings" }

-- ---------------------------------------------------------------- service list
-- 特別措置サービスリスト: the services the measure was applied to (confirmed),
-- and, after the period, those it was applied to (ended), with a status column.
-- Shared with government bodies only, never published: roles agency and
-- secretariat, and policy (制度所管省庁, who 「作成し」 the list), and admin.
-- params: `state = "confirmed"` to show the current list only; `lang`.
-- Columns (the notice): service name, provider name, status of compliance with
-- the ISMAP criteria, other third-party certifications, planned time of the
-- ISMAP-LIU application (pre-application included).

view "service-list" {
  title = { ja = "特別措置サービスリスト", en = "Special-measure service list" },
  marking = LIST_MARKING,
  roles = { "agency", "secretariat", "policy" },
  kind = "application", states = { "confirmed", "ended" },
  columns = {
    { id = "id",                      ja = "番号",                          en = "ID" },
    { id = "service_name",            ja = "サービス名",                    en = "Service name" },
    { id = "provider_name",           ja = "事業者名",                      en = "Provider" },
    { id = "compliance",              ja = "ISMAP管理基準への適合状況",      en = "Compliance with the ISMAP criteria" },
    { id = "certifications",          ja = "その他の第三者認証",            en = "Other third-party certifications" },
    { id = "planned_liu_application", ja = PLAN_LABEL.ja,                  en = PLAN_LABEL.en },
    { id = "liu_filings",             ja = FILINGS_LABEL.ja,               en = FILINGS_LABEL.en },
    { id = "status",                  ja = "状態",                          en = "Status" },
    { id = "confirmed_on",            ja = "確認日",                        en = "Confirmed on" },
  },
  row = function (app, rec, params, at)
    if params.state ~= nil and params.state ~= rec.state then return nil end
    -- compliance: what the provider stated (no audit), part by part.
    local st = type(app.statement) == "table" and app.statement or {}
    local ed = type(st.criteria_version) == "string" and CRITERIA[st.criteria_version]
    local c = ed and type(st.controls) == "table" and compliance_text(st.controls, ed)
              or text("言明なし", "no statement")
    local compliance = say(params, c.ja, c.en)
    -- certifications: names, with "expired" when past their valid_until.
    local ja, en = {}, {}
    if type(app.certifications) == "table" then
      for _, c in ipairs(app.certifications) do
        if type(c) == "table" and type(c.name) == "string" then
          local expired = type(c.valid_until) == "string" and c.valid_until < date_of(at)
          ja[#ja + 1] = c.name .. (expired and "（有効期限切れ " .. c.valid_until .. "）" or "")
          en[#en + 1] = c.name .. (expired and " (expired " .. c.valid_until .. ")" or "")
        end
      end
    end
    local status = STATUS[rec.state] or { ja = rec.state, en = rec.state }
    return {
      id = rec.id,
      service_name = app.service_name,
      provider_name = app.provider_name,
      compliance = compliance,
      certifications = #ja > 0 and say(params, table.concat(ja, "; "), table.concat(en, "; "))
                       or say(params, "なし", "none"),
      planned_liu_application = planned(app),
      liu_filings = filings_cell(app, params),
      status = say(params, status.ja, status.en),
      confirmed_on = app.confirmed_on or "",
    }
  end,
}

-- ---------------------------------------------------------------- no filing in the period
-- 運用期間内の ISMAP-LIU 申請の記録なし: services the measure was applied to
-- (confirmed or ended) with no ISMAP-LIU application or pre-application
-- recorded as filed within the period.  The notice defines no breach of a
-- pledge: the view says what the records show, nothing more.  (Its name,
-- pledge-unfulfilled, is kept: clients call it by that name.)
-- While the period runs these are services that have *not yet* filed (to
-- follow up); once it has ended, no filing within the period is recorded.  The column
-- `final` tells which; params `final_only = true` lists only the latter.

view "pledge-unfulfilled" {
  title = { ja = "運用期間内の ISMAP-LIU 申請の記録なし", en = "No ISMAP-LIU filing recorded within the period" },
  marking = LIST_MARKING,
  roles = { "secretariat", "policy" },
  kind = "application", states = { "confirmed", "ended" },
  columns = {
    { id = "id",                      ja = "番号",                       en = "ID" },
    { id = "service_name",            ja = "サービス名",                 en = "Service name" },
    { id = "provider_name",           ja = "事業者名",                   en = "Provider" },
    { id = "planned_liu_application", ja = PLAN_LABEL.ja,               en = PLAN_LABEL.en },
    { id = "liu_filings",             ja = "ISMAP-LIU 申請の状況（運用期間外を含む）", en = "ISMAP-LIU filings (any date)" },
    { id = "status",                  ja = "状況",                       en = "Status" },
    { id = "final",                   ja = "確定",                       en = "Final" },
    { id = "period_ends",             ja = "運用期間の終了",             en = "Period ends" },
  },
  row = function (app, rec, params, at)
    if filing_in_period(app) then return nil end
    local m = measure_of("special-measure")
    local final = rec.state == "ended" or at >= m.ends
    if params.final_only and not final then return nil end
    return {
      id = rec.id,
      service_name = app.service_name,
      provider_name = app.provider_name,
      planned_liu_application = planned(app),
      liu_filings = filings_cell(app, params),
      status = final and say(params, "運用期間内の ISMAP-LIU 申請の記録なし", "no ISMAP-LIU filing recorded within the period")
                     or say(params, "未申請（運用期間中）", "not filed yet (period running)"),
      final = final and say(params, "済", "yes") or say(params, "未", "no"),
      period_ends = say(params, wareki(date_of(m.ends - 1)), date_of(m.ends - 1)),
    }
  end,
}
