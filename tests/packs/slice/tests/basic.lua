scenario "create" {
  at = "2024-06-01",
  { act = "create", as = "secretariat", params = { n = 1, text = "one" }, state = "open" },
  { view = "items", rows = 1 },
}
