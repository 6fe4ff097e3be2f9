scenario "create and close" {
  at = "2024-06-01",
  { act = "create", as = "secretariat", params = { text = "hello" }, state = "open" },
  { act = "close", as = "secretariat", params = { why = "done" }, state = "closed" },
  { act = "close", as = "secretariat", expect = "refused" },
}
