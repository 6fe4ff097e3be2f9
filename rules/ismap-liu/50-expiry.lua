-- 運用期間の終了: the daemon runs these hooks once, at the end of each
-- temporary measure, catching up if it was down.  ③ never ends.

-- Applications not confirmed within the period lapse (失効).
on_expiry "special-measure" {
  kind = "application", states = { "submitted" },
  run = function (app, at, rec)
    rec.state = "lapsed"
    app.lapsed = { on = date_of(at) }
    emit("lapsed", { on = date_of(at) })
  end,
}

-- Listed services end (特別措置の適用終了), flagged when no ISMAP-LIU filing is
-- recorded within the period (the event keeps its name for the clients that
-- read it); a filing recorded later but dated within it sets the flag.
on_expiry "special-measure" {
  kind = "application", states = { "confirmed" },
  run = function (app, at, rec)
    local filed = filing_in_period(app) ~= nil
    rec.state = "ended"
    app.ended = { on = date_of(at), liu_filed_in_period = filed }
    emit("ended", { on = date_of(at), liu_filed_in_period = filed })
    if not filed then emit("pledge_unfulfilled", { on = date_of(at) }) end
  end,
}

-- Incentives ① and ② not used by the end of their measure are marked expired.
for _, inc in ipairs(INCENTIVES) do
  on_expiry(inc.measure) {
    kind = "application", states = { "confirmed", "ended" },
    run = function (app, at, rec)
      local incs = type(app.incentives) == "table" and app.incentives or {}
      local u = incs[inc.name]
      if type(u) == "table" and (u.used_on or u.expired_on) then return end   -- used, or done before
      incs[inc.name] = { expired_on = date_of(at) }
      app.incentives = incs
      emit("incentive_expired", { incentive = inc.name, measure = inc.measure })
    end,
  }
end
