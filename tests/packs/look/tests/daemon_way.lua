-- A scenario's actions get a stored record the way the daemon gives one
-- (prelude.lua, check_scenario; rules_text.h): read from its JSON, data's
-- objects and arrays left as text until a rule touches them, and what no
-- rule read is still there afterwards.
scenario "an action gets its record as the daemon gives it" {
  at = "2024-06-01",
  { act = "make", as = "secretariat", state = "new",
    params = { name = "x", statement = { controls = { ["5.1.1"] = "met" } }, list = { 1, 2 } } },
  { act = "look", as = "secretariat", params = { meta = true },
    check = function (rec) return rec.data.meta == "boolean" end },
  { act = "look", as = "secretariat", params = { set = { n = 1 } }, eval = "eligible",
    check = function (rec)
      return rec.data.n == 1 and rec.data.statement.controls["5.1.1"] == "met" and rec.data.list[2] == 2
    end },
}
