-- A pack for the core's identities (kind{identity}), nothing of any notice:
-- a member is one person whatever their records; a person has one live
-- membership; the badges a person earned stay theirs.
pack { name = "ident", title = { ja = "同一性の試験", en = "identity test" } }

role "clerk" { title = { ja = "係", en = "clerk" }, methods = { "record.get", "record.list", "history" } }

measure "season" {
  title = { ja = "期間", en = "season" },
  temporary = true, from = "2024-01-01", till = "2024-06-30",
}

kind "member" {
  title = { ja = "会員", en = "member" },
  id_prefix = "M-",
  states = { "active", "left", "lapsed" },
  identity = {
    title = { ja = "人", en = "person" },
    fields = { { "number", "email" }, "name" },
    fields_title = { ja = "番号（なければメール）と氏名", en = "number (or email) and name" },
    normalize = "nfkc-space-case",
    live = { "active" },
    keeps = { "badges" },
  },
  validate = function (app, err)
    if type(app.name) ~= "string" then err("name", "氏名は必須です", "name is required") end
  end,
}

action "join" { kind = "member", roles = { "clerk" }, creates = true, to = "active" }
action "edit" { kind = "member", roles = { "clerk" }, from = { "active" },
  run = function (app, p) for k, v in pairs(p) do app[k] = v end end }
action "badge" { kind = "member", roles = { "clerk" }, from = { "active" },
  run = function (app, p, at, rec)
    app.badges = type(app.badges) == "table" and app.badges or {}
    if app.badges[p.badge] then refuse { ja = "取得済みです", en = "already earned by " .. app.badges[p.badge] } end
    app.badges[p.badge] = rec.id
  end }
action "leave" { kind = "member", roles = { "clerk" }, from = { "active" }, to = "left" }

on_expiry "season" { kind = "member", states = { "active" },
  run = function (app, at, rec) rec.state = "lapsed" end }
