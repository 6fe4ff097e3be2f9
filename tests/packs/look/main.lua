-- A pack for the tests of an action on a record given as text
-- (tests/unit/act_text.c, tests/fuzz/fuzz_text.c): its one action, "look",
-- records what it saw, so that the two ways of giving it a record can be
-- compared.  With params:
--   trace = true   data.trace: every table of the record in pairs() order,
--                  with its length (#), as one string
--   seen = true    data.seen: a copy of the record as the action got it
--   set = {...}    fields set in data; clear = {...}: fields removed
--   refuse = true  refused
--   raw = "k"      data.raw: a copy of rawget(data, k)
--   count = true   data.count: how many members next() meets in data
--   replace = {...} data replaced by this table (rec.data = ...)
--   meta = true    data.meta: the type of getmetatable(data) ("boolean" when
--                  the daemon left some of it as text, rules_text.h)
-- "make" creates a thing from its params (the pack's scenario tests).
pack { name = "look", title = { ja = "比較用パック", en = "comparison pack" } }

-- Roles (liud.conf gives them to users and groups; admin is the core's).
role "policy" { title = { ja = "政策担当", en = "policy" },
  methods = { "record.get", "record.list", "eval", "history", "deadlines",
              "rules.check", "rules.diff", "rules.reload", "rules.history", "rules.rollback" } }
role "secretariat" { title = { ja = "事務局", en = "secretariat" },
  methods = { "record.get", "record.list", "eval", "history", "deadlines" } }
role "agency" { title = { ja = "政府機関等", en = "agency" } }

-- A record whose data has note_changed = true gets data.changed: the
-- fields validate was told changed, sorted, as one string.
kind "thing" { states = { "new", "done" },
  validate = function (app, err, at, changed)
    if rawget(app, "note_changed") and changed then
      local ks = {}
      for k in pairs(changed) do ks[#ks + 1] = k end
      table.sort(ks)
      app.changed = table.concat(ks, ",")
    end
  end }

local function trace(v, out)
  if type(v) ~= "table" then out[#out + 1] = type(v) .. ":" .. tostring(v) return end
  out[#out + 1] = "{#" .. #v
  for k, x in pairs(v) do out[#out + 1] = tostring(k) trace(x, out) end
  out[#out + 1] = "}"
end

action "look" { kind = "thing", roles = { "secretariat" }, from = { "new" },
  run = function (app, p, at, rec)
    if p.refuse then refuse { ja = "拒否します", en = "refused as asked" } end
    if p.trace then local out = {} trace(rec, out) app.trace = table.concat(out, " ") end
    if p.seen then app.seen = copy(rec) end
    if p.meta then app.meta = type(getmetatable(app)) end
    if p.raw then app.raw = copy(rawget(app, p.raw)) end
    if p.count then local n, k = 0 repeat k = next(app, k) if k ~= nil then n = n + 1 end until k == nil app.count = n end
    if type(p.replace) == "table" then rec.data = p.replace app = rec.data end
    if type(p.set) == "table" then for k, v in pairs(p.set) do app[k] = v end end
    if type(p.clear) == "table" then for _, k in ipairs(p.clear) do app[k] = nil end end
  end }

action "make" { kind = "thing", roles = { "secretariat" }, creates = true, to = "new",
  run = function (app, p, at) end }

-- eval sees data as a plain table (as the daemon gives it): no metatable.
check "plain" { function (app)
  if getmetatable(app) == nil then return pass() end
  return fail { ja = "data にメタテーブルがあります", en = "data has a metatable" }
end }
