-- A pack for the tests of an action on a record given as text
-- (tests/unit/act_text.c, tests/fuzz/fuzz_text.c): its one action, "look",
-- records what it saw, so that the two ways of giving it a record can be
-- compared.  With params:
--   trace = true   data.trace: every table of the record in pairs() order,
--                  with its length (#), as one string
--   seen = true    data.seen: a copy of the record as the action got it
--   set = {...}    fields set in data; clear = {...}: fields removed
--   refuse = true  refused
pack { name = "look", title = { ja = "比較用パック", en = "comparison pack" } }

kind "thing" { states = { "new", "done" } }

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
    if type(p.set) == "table" then for k, v in pairs(p.set) do app[k] = v end end
    if type(p.clear) == "table" then for _, k in ipairs(p.clear) do app[k] = nil end end
  end }
