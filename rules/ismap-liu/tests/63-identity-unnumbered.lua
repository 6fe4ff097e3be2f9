-- One service, one live record, whatever the record lacks (issue 21, items
-- 1 and 2: 「運用期間内に一度に限り」, one listing per service).  The notice
-- names a service by its provider and its name; the 法人番号 identifies the
-- provider.  Decision (README): a record without the 法人番号 is the service
-- its provider's name and its service name make; a record with the number is
-- that service too, so the two can never be live together, in either order.

local function unnumbered(over)
  local a = good_app(over)
  a.provider_corporate_number = nil
  return a
end
local SAME = { service_name = "同一性SaaS", provider_name = "株式会社テスト" }
local function numbered() return good_app { service_name = "同一性SaaS", provider_name = "株式会社テスト", provider_corporate_number = "9234567890123" } end

scenario "two submitted records of one service cannot coexist when the first lacks its 法人番号" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "named", params = unnumbered(SAME) },
  { act = "submit", as = "secretariat", params = numbered(), expect = "refused", reason = "このサービスには有効な記録 named があります" },
}
scenario "two submitted records of one service cannot coexist when the second lacks its 法人番号" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "numbered", params = numbered() },
  { act = "submit", as = "secretariat", params = unnumbered(SAME), expect = "refused",
    reason = "the service already has a live record, numbered" },
  -- written otherwise (width, spaces, case), it is the same name
  { act = "submit", as = "secretariat", params = unnumbered { service_name = "同一性ＳａａＳ", provider_name = "株式会社 テスト" },
    expect = "refused", reason = "有効な記録 numbered" },
}
scenario "withdrawn, the numbered record leaves the name free, and ① stays used by the service" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "numbered", params = numbered() },
  { act = "confirm", as = "secretariat", id = "numbered", state = "confirmed" },
  { act = "use_incentive", as = "secretariat", id = "numbered", params = { incentive = "audit_scope", used_on = "2024-01-01" } },
  { act = "withdraw", as = "secretariat", id = "numbered" },
  { act = "submit", as = "secretariat", id = "named", params = unnumbered(SAME) },
  { act = "amend", as = "secretariat", id = "named", params = { provider_corporate_number = "9234567890123" } },
  { act = "confirm", as = "secretariat", id = "named", state = "confirmed" },
  { act = "use_incentive", as = "secretariat", id = "named", params = { incentive = "audit_scope", used_on = "2024-02-01" },
    expect = "refused" },
}
scenario "another provider with its own 法人番号 and the same service name is another service" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = numbered() },
  { act = "submit", as = "secretariat", params = good_app { service_name = "同一性SaaS", provider_name = "株式会社テスト",
                                                              provider_corporate_number = "7000012050002" } },
  { view = "service-list", rows = 0 },
}
