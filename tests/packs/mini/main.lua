-- A minimal pack for the core's own tests: the engine, not the notice.
pack { name = "mini", title = { ja = "最小パック", en = "minimal pack" } }

-- Roles (liud.conf gives them to users and groups; admin is the core's).
role "policy" { title = { ja = "政策担当", en = "policy" },
  methods = { "record.get", "record.list", "eval", "history", "deadlines",
              "rules.check", "rules.diff", "rules.reload", "rules.history", "rules.rollback" } }
role "secretariat" { title = { ja = "事務局", en = "secretariat" },
  methods = { "record.get", "record.list", "eval", "history", "deadlines" } }
role "agency" { title = { ja = "政府機関等", en = "agency" } }

measure "window" {
  title = { ja = "期間", en = "window" },
  temporary = true, from = "2024-01-01", till = "2024-12-31",
}

kind "note" {
  id_prefix = "N-",
  states = { "open", "closed", "expired" },
  validate = function (app, err)
    if type(app.text) ~= "string" then err("text", "本文は必須です", "text is required") end
  end,
}

check "open-window" {
  function (app, at) if in_force("window", at) then return pass() end
    return fail { ja = "期間外です", en = "outside the window" } end,
}

action "create" { kind = "note", roles = { "secretariat" }, creates = true, to = "open" }
action "edit" { kind = "note", roles = { "secretariat" }, from = { "open" },
  run = function (app, p) for k, v in pairs(p) do app[k] = v end end }
action "close" { kind = "note", roles = { "secretariat" }, from = { "open" }, to = "closed",
  params = { { id = "why", ja = "理由", en = "why it is closed", type = "text", required = false }, "refuse", "crash" },
  run = function (app, p, at)
    if p.refuse then refuse { ja = "拒否します", en = "refused as asked" } end
    if p.crash then error("crash as asked") end
    emit("closed", { why = p.why })
  end }

action "touch" { kind = "note", roles = { "secretariat" }, from = { "open" },
  run = function (app, p, at, rec)
    if p.bad ~= nil then invalid("bad", "不正な値です", "bad value") end
    local ok = evaluate(rec, at)
    if not ok then refuse { ja = "期間外です", en = "outside the window" } end
    app.touched = date("令和6年1月1日")
  end }

view "open-notes" {
  roles = { "agency" }, kind = "note", states = { "open" },
  columns = { { id = "text", ja = "本文", en = "Text" } },
  row = function (app) return { text = app.text } end,
}

on_expiry "window" { kind = "note", states = { "open" },
  run = function (app, at, rec) rec.state = "expired" end }
