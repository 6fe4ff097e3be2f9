-- A pack whose rule reads the time of day from the text of jst(at): it
-- refuses from 12:15 to 12:45 JST.  It declares eval_by_date, so the daemon
-- would give eval's answer of a whole day, and its tests (all at hours) would
-- agree with it: `liud test` must find the window (tests/08-author-strict.t).
pack { name = "lunch-window", title = { ja = "昼の受付停止", en = "lunch window" }, eval_by_date = true }

measure "year" {
  title = { ja = "受付期間", en = "filing year" },
  temporary = true, from = "2024-01-01", till = "2024-12-31",
}

kind "note" { id_prefix = "N-", states = { "open" } }

check "not-at-lunch" {
  function (app, at)
    local hm = jst(at):sub(12, 16)
    if hm >= "12:15" and hm < "12:45" then
      return fail { ja = "12時15分から12時45分までは受け付けません", en = "not accepted from 12:15 to 12:45" }
    end
    return pass()
  end,
}

role "clerk" { title = { ja = "係", en = "clerk" } }

action "create" { kind = "note", roles = { "clerk" }, creates = true, to = "open",
  run = function (app, p, at, rec)
    if not evaluate(rec, at) then refuse { ja = "受け付けられません", en = "not accepted now" } end
  end }
