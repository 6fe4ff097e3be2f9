case "eligible at noon" { at = "2024-06-01T12:00+09:00", kind = "note", data = {}, expect = "eligible" }
case "eligible at one" { at = "2024-06-01T13:00+09:00", kind = "note", data = {}, expect = "eligible" }
scenario "created at noon" { at = "2024-06-01T12:00+09:00", { act = "create", as = "clerk", state = "open" } }
