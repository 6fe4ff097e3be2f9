-- Views: read-only lists.  A cell given as text(ja, en) is written in the
-- language the caller asks (params `lang = "ja"` or `"en"`), else in both;
-- a column named by a field of the application takes the field's labels.

-- The handling marking of every list (00-pack.lua): the daemon puts it in
-- every format of a view (the CSV's first line, HTML, JSON, liuctl's table).
LIST_MARKING = HANDLING_MARKING

local STATUS = {
  confirmed = { ja = "掲載中（運用期間中）", en = "listed (period running)" },
  ended     = { ja = "運用期間終了", en = "period ended" },
}

-- How an application is shown as a planned time: "2024-10" or "2024-10-01".
local function planned(app)
  return read_month(app.planned_liu_application or "", true) or ""
end

-- The ISMAP-LIU filings, as one cell: "事前申請 令和6年2月1日" / "pre-application
-- 2024-02-01" (和暦 in Japanese, as the list is read).
local function filings_cell(app)
  local ja, en = {}, {}
  for _, f in ipairs(type(app.liu_filings) == "table" and app.liu_filings or {}) do
    local t = type(f) == "table" and FILING_TYPES[f.type]
    if t then
      ja[#ja + 1] = t.ja .. " " .. wareki(shown(f.filed_on))
      en[#en + 1] = t.en .. " " .. shown(f.filed_on)
    end
  end
  if #ja == 0 then return text("未申請", "none") end
  return text(table.concat(ja, "、"), table.concat(en, ", "))
end

-- The filings' column, written as the plan's label is (「ISMAP-LIU 申請」).
FILINGS_LABEL = { ja = "ISMAP-LIU 申請の状況", en = "ISMAP-LIU filings" }

-- 特別措置サービスリスト: the services the measure was applied to (confirmed;
-- after the period, ended), with the notice's columns.  Read by the bodies,
-- the secretariat and policy (制度所管省庁, who 「作成し」 the list).
-- params: `state = "confirmed"` for the current list only; `lang`.

view "service-list" {
  title = { ja = "特別措置サービスリスト", en = "Special-measure service list" },
  marking = LIST_MARKING,
  roles = { "agency", "secretariat", "policy" },
  kind = "application", states = { "confirmed", "ended" },
  columns = {
    { id = "id", ja = "番号", en = "ID" }, "service_name", "provider_name",
    { id = "compliance", ja = "ISMAP管理基準への適合状況", en = "Compliance with the ISMAP criteria", priority = 8 },
    { id = "certifications", priority = 7, short = { ja = "他の認証", en = "Certifications" } },
    { id = "planned_liu_application", priority = 7, short = { ja = "申請予定", en = "Planned" } },
    { id = "liu_filings", ja = FILINGS_LABEL.ja, en = FILINGS_LABEL.en, priority = 7, short = { ja = "LIU申請", en = "LIU filings" } },
    { id = "status", ja = "状態", en = "Status", priority = 2 },
    { id = "confirmed_on", ja = "確認日", en = "Confirmed on", short = { en = "Confirmed" } },
  },
  row = function (app, rec, params, at)
    if params.state ~= nil and params.state ~= rec.state then return nil end
    -- certifications: names, with "expired" when past their valid_until.
    local ja, en = {}, {}
    for _, c in ipairs(type(app.certifications) == "table" and app.certifications or {}) do
      if type(c) == "table" and type(c.name) == "string" then
        local expired = type(c.valid_until) == "string" and c.valid_until < date_of(at)
        ja[#ja + 1] = c.name .. (expired and "（有効期限切れ " .. c.valid_until .. "）" or "")
        en[#en + 1] = c.name .. (expired and " (expired " .. c.valid_until .. ")" or "")
      end
    end
    return {
      id = rec.id,
      service_name = app.service_name,
      provider_name = app.provider_name,
      compliance = statement_text(app),       -- what the provider stated (no audit)
      certifications = #ja > 0 and text(table.concat(ja, "; "), table.concat(en, "; "))
                       or text("なし", "none"),
      planned_liu_application = planned(app),
      liu_filings = filings_cell(app),
      status = STATUS[rec.state] or text(rec.state, rec.state),
      confirmed_on = app.confirmed_on or "",
    }
  end,
}

-- 運用期間内の ISMAP-LIU 申請の記録なし: services the measure was applied to
-- with no ISMAP-LIU filing recorded within the period.  The notice defines
-- no breach of a pledge: the view says what the records show (its name is
-- kept for the clients that call it).  While the period runs they have not
-- filed *yet* (`final`: no); `final_only = true` lists only the final ones.

view "pledge-unfulfilled" {
  title = { ja = "運用期間内の ISMAP-LIU 申請の記録なし", en = "No ISMAP-LIU filing recorded within the period" },
  marking = LIST_MARKING,
  roles = { "secretariat", "policy" },
  kind = "application", states = { "confirmed", "ended" },
  columns = {
    { id = "id", ja = "番号", en = "ID" }, "service_name", "provider_name", "planned_liu_application",
    { id = "liu_filings", ja = "ISMAP-LIU 申請の状況（運用期間外を含む）", en = "ISMAP-LIU filings (any date)" },
    { id = "status", ja = "状況", en = "Status" },
    { id = "final", ja = "確定", en = "Final" },
    { id = "period_ends", ja = "運用期間の終了", en = "Period ends" },
  },
  row = function (app, rec, params, at)
    if filing_in_period(app) then return nil end
    local ends = measure_of("special-measure").ends
    local final, last = rec.state == "ended" or at >= ends, date_of(ends - 1)
    if params.final_only and not final then return nil end
    return {
      id = rec.id,
      service_name = app.service_name,
      provider_name = app.provider_name,
      planned_liu_application = planned(app),
      liu_filings = filings_cell(app),
      status = final and text("運用期間内の ISMAP-LIU 申請の記録なし", "no ISMAP-LIU filing recorded within the period")
                     or text("未申請（運用期間中）", "not filed yet (period running)"),
      final = final and text("済", "yes") or text("未", "no"),
      period_ends = text(wareki(last), last),
    }
  end,
}
