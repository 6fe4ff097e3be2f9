-- Views (40-views.lua): the service list and the unfulfilled pledges.

local function row_of(rows, i) return rows[i or 1] end

scenario "the service list shows confirmed services only, with the columns of the notice" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "s", params = good_app { service_name = "未確認SaaS" } },
  { act = "submit", as = "secretariat", id = "c", params = app_with(function (a)
      a.statement.controls["6.1.1"] = { excluded = "理由1" }
      a.statement.controls["6.3.1.P"] = { excluded = "理由2" }
      a.certifications = { { name = "ISO/IEC 27001", valid_until = "2026-03-31" }, { name = "SOC 2", valid_until = "2023-12-31" } }
    end) },
  { act = "confirm", as = "secretariat", id = "c" },
  { act = "submit", as = "secretariat", id = "r", params = good_app { service_name = "却下SaaS" } },
  { act = "reject", as = "secretariat", id = "r", params = { reason = "x" } },
  { view = "service-list", rows = 1, rows_check = function (rows)
      local r = row_of(rows)
      return expect_eq(r.id, "c")
         and expect_eq(r.service_name, "クラウド会計SaaS")
         and expect_eq(r.provider_name, "株式会社テスト")
         and has(r.compliance, "統制目標 121 中 119（除外: 6.1.1、6.3.1.P）")
         and has(r.compliance, "control objectives: 119 of 121 (excluded: 6.1.1, 6.3.1.P)")
         and expect_eq(r.certifications, "ISO/IEC 27001; SOC 2（有効期限切れ 2023-12-31） / ISO/IEC 27001; SOC 2 (expired 2023-12-31)")
         and expect_eq(r.planned_liu_application, "2025-03")
         and expect_eq(r.liu_filings, "未申請 / none")
         and expect_eq(r.status, "掲載中（運用期間中） / listed (period running)")
         and expect_eq(r.confirmed_on, "2024-01-01")
    end },
  { view = "service-list", params = { lang = "ja" }, rows_check = function (rows)
      return has(row_of(rows).compliance, "言明（監査なし）: ")
         and expect_eq(row_of(rows).compliance:find("self-statement", 1, true), nil, "English in a ja list")
         and expect_eq(row_of(rows).status, "掲載中（運用期間中）")
    end },
  { view = "service-list", params = { lang = "en" }, rows_check = function (rows)
      return expect_eq(row_of(rows).certifications, "ISO/IEC 27001; SOC 2 (expired 2023-12-31)")
    end },
}

scenario "the service list shows filings and keeps ended services with their status" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "a", params = good_app { service_name = "A", certifications = {} } },
  { act = "confirm", as = "secretariat", id = "a" },
  { act = "file_liu_application", as = "secretariat", id = "a", params = { type = "pre_application", filed_on = "2024-01-01" } },
  { act = "submit", as = "secretariat", id = "b", params = good_app { service_name = "B" } },
  { act = "confirm", as = "secretariat", id = "b" },
  { view = "service-list", params = { lang = "ja" }, rows = 2, rows_check = function (rows)
      return expect_eq(rows[1].liu_filings, "事前申請 令和6年1月1日") and expect_eq(rows[1].certifications, "なし")
    end },
  { at = "2025-04-01", enforce = true },
  { view = "service-list", rows = 2, params = { lang = "en" }, rows_check = function (rows)
      return expect_eq(rows[1].status, "period ended") and expect_eq(rows[2].status, "period ended")
    end },
  { view = "service-list", rows = 0, params = { state = "confirmed" } },
  { view = "service-list", rows = 2, params = { state = "ended" } },
}

scenario "the service list does not show withdrawn or lapsed services" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "w", params = good_app() },
  { act = "confirm", as = "secretariat", id = "w" },
  { act = "withdraw", as = "secretariat", id = "w" },
  { act = "submit", as = "secretariat", id = "l", params = good_app() },
  { at = "2025-04-01", enforce = true, id = "l", state = "lapsed" },
  { view = "service-list", rows = 0 },
  { view = "pledge-unfulfilled", rows = 0 },
}

scenario "pledge-unfulfilled: not yet filed during the period, final after it" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "kept", params = good_app { service_name = "kept" } },
  { act = "confirm", as = "secretariat", id = "kept" },
  { act = "submit", as = "secretariat", id = "late", params = good_app { service_name = "late" } },
  { act = "confirm", as = "secretariat", id = "late" },
  { act = "submit", as = "secretariat", id = "never", params = good_app { service_name = "never" } },
  { act = "confirm", as = "secretariat", id = "never" },
  { at = "2024-06-01", act = "file_liu_application", as = "secretariat", id = "kept", params = { type = "application", filed_on = "2024-06-01" } },
  { view = "pledge-unfulfilled", rows = 2, params = { lang = "en" }, rows_check = function (rows)
      return expect_eq(rows[1].service_name, "late") and expect_eq(rows[1].final, "no")
         and expect_eq(rows[1].status, "not filed yet (period running)")
         and expect_eq(rows[1].period_ends, "2025-03-31")
    end },
  { view = "pledge-unfulfilled", rows = 0, params = { final_only = true } },
  { at = "2025-04-01T00:00+09:00", enforce = true },
  { at = "2025-04-20", act = "file_liu_application", as = "secretariat", id = "late", params = { type = "application", filed_on = "2025-04-15" } },
  { view = "pledge-unfulfilled", rows = 2, params = { final_only = true, lang = "ja" }, rows_check = function (rows)
      return expect_eq(rows[1].service_name, "late") and expect_eq(rows[1].final, "済")
         and expect_eq(rows[1].status, "運用期間内の ISMAP-LIU 申請の記録なし")
         and expect_eq(rows[1].liu_filings, "登録申請 令和7年4月15日")
         and expect_eq(rows[2].service_name, "never") and expect_eq(rows[2].liu_filings, "未申請")
    end },
}

scenario "pledge-unfulfilled is final once the period is over, even before expiry runs" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-04-01", view = "pledge-unfulfilled", rows = 1, params = { final_only = true } },
  { at = "2025-03-31T23:59:59+09:00", view = "pledge-unfulfilled", rows = 0, params = { final_only = true } },
}
