-- The life of applications: who may do what, one per provider, the cap
-- over all applications, the end of the window.

scenario "an application is granted by the reviewer, not by the office" {
  at = "2025-05-01",
  { act = "apply", as = "applicant_office", params = waiver(1), state = "submitted" },
  { check = function (rec) return rec.id == "FW-1000000000001" end },
  { act = "grant", as = "applicant_office", expect = "forbidden" },
  { act = "grant", as = "reviewer", state = "granted" },
  { view = "register", as = "applicant_office", rows = 1,
    rows_check = function (rows) return rows[1].id == "FW-1000000000001" and rows[1].fee_yen == 300000 end },
}

scenario "§5 one application per provider, even after a withdrawal" {
  at = "2025-05-01",
  { act = "apply", as = "applicant_office", params = waiver(7) },
  { act = "withdraw", as = "applicant_office", state = "withdrawn" },
  { act = "apply", as = "applicant_office", params = waiver(7, { provider_name = "別名" }),
    expect = "refused", reason = "already exists (FW-1000000000007)" },
  { act = "apply", as = "applicant_office", params = waiver(8), state = "submitted" },
}

scenario "§5 the provider id names the record and cannot be amended away" {
  at = "2025-05-01",
  { act = "apply", as = "applicant_office", params = waiver(1, { provider_id = "12-34" }),
    expect = "invalid", field = "provider_id" },
  { act = "apply", as = "applicant_office", params = waiver(1, { employees = 0, applied_on = "2025-02-30" }),
    expect = "invalid", field = "applied_on" },
  { act = "apply", as = "applicant_office", params = waiver(1), state = "submitted" },
  { act = "amend", as = "applicant_office", params = { provider_id = "1000000000002" },
    expect = "invalid", field = "provider_id", reason = "cannot change" },
  { act = "amend", as = "applicant_office", params = { employees = 55 },
    check = function (rec) return rec.id == "FW-1000000000001" and rec.data.employees == 55 end },
}

scenario "§3 at most five waivers in all: the sixth is refused" {
  at = "2025-05-01",
  { act = "apply", as = "applicant_office", params = waiver(1) }, { act = "grant", as = "reviewer", state = "granted" },
  { act = "apply", as = "applicant_office", params = waiver(2) }, { act = "grant", as = "reviewer", state = "granted" },
  { act = "apply", as = "applicant_office", params = waiver(3) }, { act = "grant", as = "reviewer", state = "granted" },
  { act = "apply", as = "applicant_office", params = waiver(4) }, { act = "grant", as = "reviewer", state = "granted" },
  { act = "apply", as = "applicant_office", params = waiver(5) },
  { act = "apply", as = "applicant_office", params = waiver(6) },
  { act = "grant", as = "reviewer", id = "FW-1000000000005", state = "granted" },
  { act = "grant", as = "reviewer", id = "FW-1000000000006", expect = "refused", reason = "cap of 5 waivers" },
  { state = "submitted", id = "FW-1000000000006" },
  { view = "register", as = "reviewer", rows = 5 },
}

scenario "§3 a rejected or withdrawn application does not count against the cap" {
  at = "2025-05-01",
  { act = "apply", as = "applicant_office", params = waiver(11) },
  { act = "reject", as = "reviewer", params = { reason = "書類不備" }, state = "rejected" },
  { act = "apply", as = "applicant_office", params = waiver(12) },
  { act = "reject", as = "reviewer", expect = "invalid", field = "reason" },
  { act = "withdraw", as = "applicant_office", state = "withdrawn" },
  { act = "apply", as = "applicant_office", params = waiver(13) },
  { act = "grant", as = "reviewer", state = "granted",
    check = function (rec) return rec.data.rejection_reason == nil end },
}

scenario "§2 an ineligible application is not granted" {
  at = "2025-06-30",
  { act = "apply", as = "applicant_office", params = waiver(2, { employees = 150, applied_on = "2025-06-30" }),
    eval = "ineligible" },
  { act = "grant", as = "reviewer", expect = "refused", reason = "requirements" },
  { at = "2025-07-01", act = "apply", as = "applicant_office",
    params = waiver(3, { employees = 150, applied_on = "2025-07-01" }), eval = "eligible" },
  { act = "grant", as = "reviewer", state = "granted" },
}

scenario "§1 §6 no application outside the window; open ones lapse at its end" {
  at = "2025-03-31T23:59+09:00",
  { act = "apply", as = "applicant_office", params = waiver(1, { applied_on = "2025-03-31" }),
    expect = "refused", reason = "2025-04-01 to 2025-09-30" },
  { at = "2025-09-30", act = "apply", as = "applicant_office", params = waiver(2, { applied_on = "2025-09-30" }),
    state = "submitted" },
  { at = "2025-10-01", enforce = true, state = "lapsed" },
  { act = "apply", as = "applicant_office", params = waiver(3, { applied_on = "2025-10-01" }),
    expect = "refused", reason = "applications are taken" },
  { act = "grant", as = "reviewer", id = "FW-1000000000002", expect = "refused", reason = "lapsed" },
}
