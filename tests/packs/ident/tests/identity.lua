-- The core's identities, through the pack's scenarios (the daemon's own
-- path: tests/58-identity.t).

scenario "one live record per identity, written otherwise or not" {
  at = "2024-02-01",
  { act = "join", as = "clerk", id = "a", params = { number = "42", name = "Ｙａｍａｄａ　Ｔａｒｏ" } },
  { act = "join", as = "clerk", params = { number = "４２", name = "yamada taro" }, expect = "refused",
    reason = "この人には有効な記録 a があります" },
  { act = "join", as = "clerk", id = "b", params = { number = "43", name = "Yamada Taro" } },
}
scenario "what makes the identity is not changed; an empty field is filled in" {
  at = "2024-02-01",
  { act = "join", as = "clerk", id = "a", params = { email = "t@example.jp", name = "Taro" } },
  { act = "edit", as = "clerk", id = "a", params = { name = "Jiro" }, expect = "refused",
    reason = "the fields that make the person (number (or email) and name) cannot be changed" },
  { act = "edit", as = "clerk", id = "a", params = { name = "ＴＡＲＯ" }, state = "active" },
  { act = "edit", as = "clerk", id = "a", params = { number = "7" }, state = "active" },
  { act = "join", as = "clerk", params = { number = "7", name = "taro" }, expect = "refused", reason = "有効な記録 a" },
  -- by email alone it is still the same person, who has a live record,
  -- whatever the new record lacks (the fallback: the last alternative)
  { act = "join", as = "clerk", params = { email = "t@example.jp", name = "Taro" }, expect = "refused", reason = "有効な記録 a" },
  { act = "leave", as = "clerk", id = "a", state = "left" },
  { act = "join", as = "clerk", id = "c", params = { email = "t@example.jp", name = "Taro" } },
  -- and a record by email is the person a record with a number then meets
  { act = "join", as = "clerk", params = { number = "8", email = "t@example.jp", name = "taro" }, expect = "refused",
    reason = "有効な記録 c" },
}
scenario "kept fields stay with the identity: a new record starts with them, and never gets them back" {
  at = "2024-02-01",
  { act = "join", as = "clerk", id = "a", params = { number = "1", name = "Hanako" } },
  { act = "badge", as = "clerk", id = "a", params = { badge = "gold" } },
  { act = "leave", as = "clerk", id = "a", state = "left" },
  { act = "join", as = "clerk", id = "b", params = { number = "1", name = "hanako" },
    check = function (rec) return rec.data.badges.gold == "a" end },
  { act = "badge", as = "clerk", id = "b", params = { badge = "gold" }, expect = "refused", reason = "already earned by a" },
  { act = "badge", as = "clerk", id = "b", params = { badge = "silver" } },
  { act = "leave", as = "clerk", id = "b" },
  { act = "join", as = "clerk", id = "c", params = { number = "1", name = "Hanako" },
    check = function (rec) return rec.data.badges.gold == "a" and rec.data.badges.silver == "b" end },
}
scenario "a live record that a deadline moved out of its live states no longer holds the identity" {
  at = "2024-06-01",
  { act = "join", as = "clerk", id = "a", params = { number = "5", name = "Ken" } },
  { at = "2024-07-01", enforce = true, id = "a", state = "lapsed" },
  { act = "join", as = "clerk", id = "b", params = { number = "5", name = "Ken" }, state = "active" },
}
