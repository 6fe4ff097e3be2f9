-- A pack for the tests of work in slices (tests/66-slices.t): views whose
-- rows cost what a test asks, and an action to create many records fast.
pack { name = "slice", title = { ja = "分割処理の試験", en = "work in slices" } }

-- Roles (liud.conf gives them to users and groups; admin is the core's).
role "policy" { title = { ja = "政策担当", en = "policy" },
  methods = { "record.get", "record.list", "eval", "history", "deadlines",
              "rules.check", "rules.diff", "rules.reload", "rules.history", "rules.rollback" } }
role "secretariat" { title = { ja = "事務局", en = "secretariat" },
  methods = { "record.get", "record.list", "eval", "history", "deadlines" } }
role "agency" { title = { ja = "政府機関等", en = "agency" } }

kind "item" {
  id_prefix = "I-",
  states = { "open" },
  validate = function (app, err)
    if type(app.n) ~= "number" then err("n", "番号は必須です", "n is required") end
  end,
}

action "create" { kind = "item", roles = { "secretariat" }, creates = true, to = "open" }

-- One plain row per record.
view "items" {
  roles = { "agency", "policy" }, kind = "item", states = { "open" },
  columns = { { id = "n", ja = "番号", en = "Number" }, { id = "text", ja = "本文", en = "Text" } },
  row = function (app) return { n = app.n, text = app.text } end,
}

-- A row of params.kib KiB (default 256): a reply as big as a view can make.
view "big" {
  roles = { "policy" }, kind = "item",
  columns = { { id = "n", ja = "番号", en = "Number" }, { id = "blob", ja = "塊", en = "Blob" } },
  row = function (app, rec, p) return { n = app.n, blob = string.rep("x", (p.kib or 256) * 1024) } end,
}

-- A row that costs params.spin loop turns of CPU (default 20000).
view "slow" {
  roles = { "agency", "policy" }, kind = "item",
  columns = { { id = "n", ja = "番号", en = "Number" } },
  row = function (app, rec, p)
    local s = 0
    for i = 1, (p.spin or 20000) do s = s + i end
    return { n = app.n, s = s }
  end,
}
