local app = { service_name = "Example SaaS", provider_name = "Example K.K." }

scenario "submit inside the period" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app, state = "submitted" },
}

scenario "submit after the period is refused" {
  at = "2025-04-01T00:00+09:00",
  { act = "submit", as = "secretariat", params = app, expect = "refused", reason = "not in force" },
}

scenario "agency may not submit" {
  { act = "submit", as = "agency", params = app, expect = "forbidden" },
}

scenario "submit without a service name names the field" {
  { act = "submit", as = "secretariat", params = { provider_name = "X" }, expect = "invalid", field = "service_name" },
}
