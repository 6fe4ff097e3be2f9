-- The end of the period (50-expiry.lua), enforced as the daemon does.

scenario "nothing happens at the last second of the period" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "s", params = good_app() },
  { act = "submit", as = "secretariat", id = "c", params = good_app { service_name = "別のサービス" } },
  { act = "confirm", as = "secretariat", id = "c" },
  { at = "2025-03-31T23:59:59+09:00", enforce = true, id = "s", state = "submitted" },
  { id = "c", state = "confirmed", eval = "eligible" },
}

scenario "at the end of the period a submitted application lapses" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { at = "2025-04-01T00:00+09:00", enforce = true, state = "lapsed", eval = "ineligible",
    check = function (rec, ev)
      return expect_eq(rec.data.lapsed.on, "2025-04-01") and expect_eq(ev.incentives.audit_scope.available, false)
    end },
}

scenario "at the end of the period a confirmed service ends, flagged without a filing" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-04-01T00:00+09:00", enforce = true, state = "ended", eval = "ineligible",
    check = function (rec, ev)
      return expect_eq(rec.data.ended.on, "2025-04-01") and expect_eq(rec.data.ended.liu_filed_in_period, false)
         and expect_eq(rec.data.incentives.audit_scope.expired_on, "2025-04-01")
         and expect_eq(rec.data.incentives.internal_audit_report.expired_on, "2025-04-01")
         and expect_eq(ev.incentives.audit_scope.available, false)
         and expect_eq(ev.incentives.internal_audit_report.available, false)
    end },
  { view = "pledge-unfulfilled", rows = 1 },
}

scenario "a used incentive stays recorded at the end; the unused one is marked" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { act = "use_incentive", as = "secretariat", params = { incentive = "internal_audit_report", used_on = "2024-01-01" } },
  { act = "file_liu_application", as = "secretariat", params = { type = "application", filed_on = "2024-01-01" } },
  { at = "2025-04-01", enforce = true, state = "ended",
    check = function (rec, ev)
      return expect_eq(rec.data.incentives.internal_audit_report.used_on, "2024-01-01")
         and expect_eq(rec.data.incentives.internal_audit_report.expired_on, nil)
         and expect_eq(rec.data.incentives.audit_scope.expired_on, "2025-04-01")
         and expect_eq(ev.incentives.internal_audit_report.used_on, "2024-01-01")
         and expect_eq(rec.data.ended.liu_filed_in_period, true)
    end },
  { view = "pledge-unfulfilled", rows = 0 },
}

scenario "expiry leaves rejected and withdrawn records alone" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", id = "r", params = good_app() },
  { act = "reject", as = "secretariat", id = "r", params = { reason = "x" } },
  { act = "submit", as = "secretariat", id = "w", params = good_app() },
  { act = "confirm", as = "secretariat", id = "w" },
  { act = "withdraw", as = "secretariat", id = "w" },
  { at = "2025-04-01", enforce = true, id = "r", state = "rejected",
    check = function (rec) return expect_eq(rec.data.lapsed, nil) end },
  { id = "w", state = "withdrawn", check = function (rec) return expect_eq(rec.data.incentives, nil) end },
}

scenario "a late enforcement (daemon down) has the same effect, dated at the deadline" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-06-30", enforce = true, state = "ended",
    check = function (rec) return expect_eq(rec.data.ended.on, "2025-04-01") end },
}

scenario "nothing new after the period" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { at = "2025-04-01", enforce = true, state = "lapsed" },
  { act = "submit", as = "secretariat", params = good_app(), expect = "refused", reason = "not in force" },
  { act = "confirm", as = "secretariat", expect = "refused" },
}

scenario "enforcing twice changes nothing more" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = good_app() },
  { act = "confirm", as = "secretariat" },
  { at = "2025-04-01", enforce = true, state = "ended" },
  { at = "2025-05-01", enforce = true, state = "ended",
    check = function (rec) return expect_eq(rec.data.ended.on, "2025-04-01") end },
}
