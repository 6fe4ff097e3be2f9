-- §6: applications still under review when the window closes lapse.

on_expiry "application-window" {
  kind = "waiver", states = { "submitted" },
  run = function (app, at, rec)
    rec.state = "lapsed"
    emit("lapsed", { on = date_of(at) })
  end,
}
