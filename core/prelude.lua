-- prelude — the rule DSL that rule packs are written in, and the host-side API
-- the C core calls.  Compiled into the daemon (see Makefile) and run once per
-- pack generation, in the host's trusted part of the Lua state, before any
-- file of the pack is loaded.
--
-- A pack sees only `sandbox` (below): a copy of the safe parts of the standard
-- library plus the DSL.  It never sees `host`, `api` or this file's locals.
-- The C core sees only `api`, returned at the end.
--
-- Vocabulary (docs/RULES.md documents it for pack authors):
--   pack, measure, kind, role, check, action, view, on_expiry,
--   summary                                                       (declarations)
--   pass, fail, refuse, emit                                      (inside rules)
--   instant, date, jst, date_of, day_start, day_end, in_force,
--   measure_of, array, csv, file, copy, text                      (helpers)
--   case, scenario, strict                                        (pack tests)

local host = ...

local type, pairs, ipairs, next, select, tostring, error, pcall, xpcall, setmetatable, getmetatable, rawequal =
      type, pairs, ipairs, next, select, tostring, error, pcall, xpcall, setmetatable, getmetatable, rawequal
local tsort, tconcat, tunpack, sfmt = table.sort, table.concat, table.unpack, string.format

local ARRAY = host.array_mt      -- marks a table that is a JSON array (shared with C)
-- Metatables used here are protected (__metatable = false) so that rule code
-- can neither read nor change them; the prelude compares raw metatables.
local rawmt = host.rawmt

local defs = {
  pack = { name = "?", title = { ja = "", en = "" } },
  measures = {}, measure_order = {},
  kinds = {}, kind_order = {},
  checks = {}, check_order = {},
  actions = {}, action_order = {},
  views = {}, view_order = {},
  roles = {}, role_order = {},
  expiry = {},                     -- measure id -> list of hooks
  summaries = {}, summary_order = {},
  tests = {},
}
local loading = true               -- declarations are accepted only while loading

-- Per-rule counters (calls, failures, time), for status: which rule is slow
-- or failing is the first thing policy staff ask after a change.
local counters = { check = {}, action = {}, hook = {}, view = {} }
local clock_us = host.clock_us
local function counted(class, name, ok, t0)
  local c = counters[class][name]
  if not c then c = { calls = 0, failures = 0, time_us = 0 }; counters[class][name] = c end
  c.calls = c.calls + 1
  if not ok then c.failures = c.failures + 1 end
  c.time_us = c.time_us + (clock_us() - t0)
end
local current_file = "?"

-- ---------------------------------------------------------------- helpers

-- Where a declaration was made, for error messages: "pack/file.lua:12".
local function where(level)
  local info = host.where(level or 3)
  return info or current_file
end

local function decl_error(msg, level)
  error(msg, (level or 2) + 1)
end

local function is_text(t)
  return type(t) == "table" and type(t.ja) == "string" and type(t.en) == "string"
end

local function text(ja, en)
  if type(ja) == "table" then return { ja = ja.ja or ja[1], en = ja.en or ja[2] } end
  return { ja = ja, en = en }
end

local function array(t)
  if t ~= nil and rawmt(t) == ARRAY then return t end   -- already a list (e.g. from JSON)
  return setmetatable(t or {}, ARRAY)
end

-- copy(v): a deep copy (tables copied, keys shared, the array mark kept);
-- equal(a, b): deep, raw equality.  In C (rules_conv.c): an action's data is
-- copied and compared on every call, and in Lua that cost more than the rule.
local copy, equal = host.copy, host.equal
local lazy_force, lazy_detach, as_stored = host.lazy_force, host.lazy_detach, host.as_stored

local function set_of(list)
  local s = {}
  if list then for _, v in ipairs(list) do s[v] = true end end
  return s
end

local function contains(list, v)
  if not list then return false end
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

-- While the tests' self-check runs an eval (eval_by_date_differs), the
-- instants that rules make from text: each is a place where an outcome may
-- change, so the check looks at each side of it.  nil otherwise.
local made_instants

-- The self-check's probe of `at` (eval_by_date_differs): a stand-in for the
-- instant a check judges at, that behaves as that number in arithmetic and
-- comparisons and notes, for each comparison, how its outcome follows the
-- instant (a function of t), so that the self-check can look at each side of
-- the instant where it changes: `(at + 32400) % 86400 >= 44100` is a time of
-- day that no instant marks.  Only the self-check makes one; rules never
-- keep it.
local PROBE_MT = {}
local probe_log                    -- the comparisons noted, while a probe runs
local MAX_PROBED = 64
local function probe_val(x) if rawmt(x) == PROBE_MT then return x.v end return x end
local function probe_fn(x)
  if rawmt(x) == PROBE_MT then return x.f end
  return function() return x end
end
local function probe(f, v) return setmetatable({ f = f, v = v }, PROBE_MT) end
local function probe_arith(op)
  return function(a, b)
    local va, vb = probe_val(a), probe_val(b)
    if type(va) ~= "number" or (b ~= nil and type(vb) ~= "number") then
      error("arithmetic on a time that is not a number", 2)
    end
    local fa, fb = probe_fn(a), probe_fn(b)
    return probe(function(t) return op(fa(t), fb(t)) end, op(va, vb))
  end
end
local function probe_cmp(op)
  return function(a, b)
    if probe_log and #probe_log < MAX_PROBED then
      local fa, fb = probe_fn(a), probe_fn(b)
      probe_log[#probe_log + 1] = function(t) return op(fa(t), fb(t)) end
    end
    return op(probe_val(a), probe_val(b))
  end
end
PROBE_MT.__add = probe_arith(function(x, y) return x + y end)
PROBE_MT.__sub = probe_arith(function(x, y) return x - y end)
PROBE_MT.__mul = probe_arith(function(x, y) return x * y end)
PROBE_MT.__div = probe_arith(function(x, y) return x / y end)
PROBE_MT.__mod = probe_arith(function(x, y) return x % y end)
PROBE_MT.__idiv = probe_arith(function(x, y) return x // y end)
PROBE_MT.__unm = probe_arith(function(x) return -x end)
PROBE_MT.__lt = probe_cmp(function(x, y) return x < y end)
PROBE_MT.__le = probe_cmp(function(x, y) return x <= y end)
PROBE_MT.__tostring = function(p) return tostring(p.v) end
PROBE_MT.__concat = function(a, b) return tostring(probe_val(a)) .. tostring(probe_val(b)) end
PROBE_MT.__metatable = false

-- instant("2025-03-31T23:59:59+09:00" | "2025-03-31" | "令和7年3月31日") -> seconds
-- Returns nil, {ja, en} when the text is not a time.  Numbers pass through.
local function instant(s)
  if type(s) == "number" or rawmt(s) == PROBE_MT then return s end
  if type(s) ~= "string" then
    return nil, text("日時が文字列ではありません", "a time must be a string")
  end
  local t, ja, en = host.parse_time(s)
  if not t then return nil, text(ja, en) end
  if made_instants then made_instants[#made_instants + 1] = t end
  return t
end

-- date("令和7年3月31日") -> "2025-03-31": a civil date, normalised.
local function date(s)
  if type(s) ~= "string" then
    return nil, text("日付が文字列ではありません", "a date must be a string")
  end
  local d, ja, en = host.parse_date(s)
  if not d then return nil, text(ja, en) end
  return d
end

local function must_instant(s, what)
  local t, why = instant(s)
  if not t then decl_error(sfmt("%s: %s (%s)", what, why.en, tostring(s)), 3) end
  return t
end

local jst, date_of = host.format_time, host.format_date
local function day_start(d) return must_instant(d, "day_start") end
local function day_end(d) return must_instant(d, "day_end") + 86400 end

-- ---------------------------------------------------------------- measures

local function measure_period(m)
  -- from/since: first instant in force.  till: last day in force (JST,
  -- inclusive).  until: first instant no longer in force (exclusive).
  local starts = m.since and must_instant(m.since, "measure " .. m.id .. ".since")
              or m.from and must_instant(m.from, "measure " .. m.id .. ".from") or nil
  local ends
  if m["until"] then ends = must_instant(m["until"], "measure " .. m.id .. ".until")
  elseif m.till then ends = must_instant(m.till, "measure " .. m.id .. ".till") + 86400 end
  if m.temporary and not ends then
    decl_error("measure " .. m.id .. ": a temporary measure needs `till` or `until`", 3)
  end
  if m.temporary and not starts then
    decl_error("measure " .. m.id .. ": a temporary measure needs `from` or `since` (its first day in force)", 3)
  end
  if not m.temporary and ends then
    decl_error("measure " .. m.id .. ": a permanent measure has no end (drop `till`/`until`, or set temporary = true)", 3)
  end
  if starts and ends and ends <= starts then
    decl_error("measure " .. m.id .. ": ends before it starts", 3)
  end
  return starts, ends
end

local function in_force(id, at)
  local m = defs.measures[id]
  if not m then error("in_force: no measure `" .. tostring(id) .. "`", 2) end
  at = instant(at) or error("in_force: bad time " .. tostring(at), 2)
  if m.starts and at < m.starts then return false end
  if m.ends and at >= m.ends then return false end
  return true
end

local function measures_in_force(at)
  local out = array()
  for _, id in ipairs(defs.measure_order) do
    if in_force(id, at) then out[#out + 1] = id end
  end
  return out
end

-- ---------------------------------------------------------------- declarations

-- The keys each declaration takes: one table per declaration, one line per
-- key, so that a new key is one line here (and a line in docs/RULES.md).  A
-- key not listed is refused when the pack loads, naming the closest known
-- one: a misspelt `sumary =` would otherwise be a declaration silently
-- without its summary.  A measure is open (its other fields are the pack's
-- data, read with measure_of), and a check takes its function at [1].
local DECL_KEYS = {
  pack = { "name", "version", "title", "eval_by_date", "instants" },
  kind = { "title", "states", "state_titles", "id_prefix", "key", "summary_fields", "validate",
           "allow_bidi",
           "fields",                     -- the record's fields, declared (validated, typed, described)
           "identity",                   -- one live record per identity
           "search_fields",              -- what record.list's search reads
           "summary",                    -- what record.get shows first
           "sheet", "marking" },         -- an export's columns and its marking
  action = { "title", "kind", "roles", "from", "to", "creates", "run", "params", "during" },
  view = { "title", "kind", "roles", "states", "columns", "row", "marking" },
  role = { "title", "methods" },
  check = { "title", "test" },
  on_expiry = { "kind", "states", "run", "title" },
}

-- Levenshtein distance between two short keys.
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- Raises (at the declaration's line) for the first key of spec that `what`
-- does not take, naming the declaration and the closest known key.
local function known_decl_keys(spec, what, id, level)
  local keys = DECL_KEYS[what]
  local bad = {}
  for k in next, spec do
    if not (what == "check" and k == 1) and not contains(keys, k) then bad[#bad + 1] = tostring(k) end
  end
  if #bad == 0 then return end
  tsort(bad)
  local k = bad[1]
  local best, bd = nil, math.huge
  for _, c in ipairs(keys) do
    local d = distance(k, c)
    if d < bd then best, bd = c, d end
  end
  local hint = best and bd <= math.max(2, #k // 3) and sfmt(" (did you mean `%s`?)", best) or ""
  error(sfmt('%s%s: unknown key `%s`%s; %s takes: %s', what, id and (' "' .. id .. '"') or "", k, hint,
             what, tconcat(keys, ", ")), level)
end

-- An error found in a declaration, as its author reads it: at the file and
-- line of the declaration, once, whatever line of the prelude raised it (a
-- message that already names a line of the pack keeps it).
local function at_declaration(e, loc)
  local msg = tostring(e):gsub("^prelude:%d+: ", "")
  if msg:find("^[^%s:]+%.lua:%d+: ") or not loc then return msg end
  return loc .. ": " .. msg
end

local function declare(kind_name, store, order, validate)
  return function(id)
    if not loading then error(kind_name .. " declarations are only allowed while the pack loads", 2) end
    if type(id) ~= "string" or id == "" then
      error(kind_name .. " needs a name: " .. kind_name .. ' "name" { ... }', 2)
    end
    return function(spec)
      if type(spec) ~= "table" then error(kind_name .. ' "' .. id .. '" needs a table { ... }', 2) end
      if DECL_KEYS[kind_name] then known_decl_keys(spec, kind_name, id, 3) end
      if store[id] and kind_name ~= "on_expiry" then
        error(sfmt('%s "%s" is declared twice (first at %s)', kind_name, id, store[id].where), 2)
      end
      local d = copy(spec)
      d.id, d.where = id, where(3)
      local ok, e = pcall(validate, d, id)
      if not ok then error(at_declaration(e, d.where), 0) end
      store[id] = d
      if order then order[#order + 1] = id end
      return d
    end
  end
end

local function need_title(d, what)
  if d.title ~= nil and not is_text(d.title) then
    decl_error(what .. ' "' .. d.id .. '": title must be { ja = "...", en = "..." }', 4)
  end
  d.title = d.title or text(d.id, d.id)
end

local function pack_decl(spec)
  if not loading then error("pack is only allowed while the pack loads", 2) end
  if type(spec) ~= "table" or type(spec.name) ~= "string" then
    error('pack needs { name = "...", title = { ja = ..., en = ... } }', 2)
  end
  known_decl_keys(spec, "pack", nil, 3)
  -- A name names things (and the folder a kept version is written out to);
  -- it is never a path.
  if #spec.name > 63 or not spec.name:match("^[a-z0-9][a-z0-9%-]*$") then
    error(sfmt('pack: name %q is not a pack name: 1 to 63 of a-z, 0-9 and "-", starting with a letter or digit', spec.name), 2)
  end
  if spec.eval_by_date ~= nil and type(spec.eval_by_date) ~= "boolean" then
    error("pack: eval_by_date must be true or false", 2)
  end
  -- instants: where an outcome may change besides a measure's start or end
  -- (eval's span is cut there too: rules_eval_span).
  local at = array()
  if spec.instants ~= nil then
    if type(spec.instants) ~= "table" then
      error('pack: instants = { "2024-04-01T12:00+09:00", ... } must be a list of times', 2)
    end
    for i, v in ipairs(spec.instants) do
      local t, why = instant(v)
      if not t then error(sfmt("pack: instants[%d]: %s (%s)", i, why.en, tostring(v)), 2) end
      at[#at + 1] = t
    end
    tsort(at)
  end
  defs.pack = copy(spec)
  defs.pack.title = is_text(spec.title) and spec.title or text(spec.name, spec.name)
  defs.pack.instants_at = at
end

-- A measure's own keys; its other keys are the pack's figures, but one a
-- letter or two from a period key is a misspelling (`form = ...` would leave
-- the measure without its start).
local MEASURE_KEYS = { "title", "temporary", "from", "since", "till", "until" }
local function measure_misspelt(d)
  for k in next, d do
    if type(k) == "string" and not contains(MEASURE_KEYS, k) and k ~= "id" and k ~= "where" then
      for _, c in ipairs(MEASURE_KEYS) do
        if #k >= 3 and distance(k, c) <= 2 then
          decl_error(sfmt("measure %s: unknown key `%s` (did you mean `%s`?); a measure's period is " ..
                          "from, since, till, until; its other keys are the pack's own figures and " ..
                          "must not look like these", d.id, k, c), 3)
        end
      end
    end
  end
end

local measure_decl = declare("measure", defs.measures, defs.measure_order, function(d)
  need_title(d, "measure")
  measure_misspelt(d)
  d.temporary = d.temporary and true or false
  d.starts, d.ends = measure_period(d)
end)

-- A kind's summary fields: the data fields `liuctl record list` shows after
-- id, kind, state and updated (the core knows no field of any pack's
-- records).  Each is "field" or { id = "field", ja = "...", en = "..." };
-- a field is a top-level key of the record's data, or a dotted path.
-- A column, as a field, may carry what a table on a narrow terminal needs:
-- `short = { ja = ..., en = ... }` (its header there) and `priority` 1 to
-- 9 (the highest left out first; none counts as 5).  LABEL_KEYS.table_words
-- says what is wrong with them, or nil.
local LABEL_KEYS = { "id", "ja", "en", "short", "priority",
  table_words = function (c)
    local s, p = c.short, c.priority
    if s ~= nil and (type(s) ~= "table" or (s.ja == nil and s.en == nil)
                     or (s.ja ~= nil and type(s.ja) ~= "string") or (s.en ~= nil and type(s.en) ~= "string")) then
      return 'short = { ja = "...", en = "..." } (a header for narrow tables)'
    end
    if p ~= nil and (math.type(p) ~= "integer" or p < 1 or p > 9) then
      return "priority = 1 to 9 (which columns a narrow table leaves out first: the highest)"
    end
  end }

-- The declaration of the field at a dotted path ("certifications.name",
-- "tags[2]") in a kind's `fields`, or nil: where a label is not given, a
-- column takes the field's own names.
-- The parts of each path are kept (a rule's message names the same few
-- fields on every call): a pure function of the text, cleared when full.
local field_at = (function()
  local parts, n = {}, 0
  return function(fields, path)
    local list = parts[path]
    if not list then
      list = {}
      for part in path:gsub("%[%d+%]", ""):gmatch("[^.]+") do list[#list + 1] = part end
      if n >= 256 then parts, n = {}, 0 end
      if #path <= 200 then parts[path], n = list, n + 1 end
    end
    local spec = { type = "object", fields = fields }
    for i = 1, #list do
      if type(spec) == "table" and spec.type == "list" then spec = spec.of end
      local sub = type(spec) == "table" and type(spec.fields) == "table" and spec.fields[list[i]]
      if type(sub) ~= "table" then return nil end
      spec = sub
    end
    return spec
  end
end)()

-- A column's labels: its own, else its field's, else (en: its ja, with
-- en_from_ja) its id.
local function labelled(c, fields, en_from_ja)
  local f = type(fields) == "table" and field_at(fields, c.id) or {}
  return { id = c.id, ja = c.ja or f.ja or c.id, en = c.en or f.en or (en_from_ja and c.ja) or c.id,
           short = c.short or f.short, priority = c.priority or f.priority }
end
local function summary_fields(d)
  local out = array()
  if d.summary_fields == nil then return out end
  if type(d.summary_fields) ~= "table" then
    decl_error('kind "' .. d.id .. '": summary_fields = { "field", { id = "field", ja = ..., en = ... }, ... } must be a list', 5)
  end
  for i, f in ipairs(d.summary_fields) do
    if type(f) == "string" then f = { id = f } end
    if type(f) ~= "table" or type(f.id) ~= "string" or f.id == "" then
      decl_error(sfmt('kind "%s": summary_fields[%d] needs a field name: "field" or { id = "field", ja = ..., en = ... }', d.id, i), 5)
    end
    for k in next, f do
      if not contains(LABEL_KEYS, k) then
        decl_error(sfmt('kind "%s": summary_fields[%d]: unknown key `%s` (a field takes: %s)', d.id, i, tostring(k),
                        tconcat(LABEL_KEYS, ", ")), 5)
      end
    end
    local why = LABEL_KEYS.table_words(f)
    if why then decl_error(sfmt('kind "%s": summary_fields[%d]: %s', d.id, i, why), 5) end
    out[i] = labelled(f, d.fields)
  end
  return out
end

-- A kind's sheet: the columns of `liuctl export` (CSV and .xlsx) in the
-- order the pack gives, each labelled; `liuctl import` reads these labels
-- as headers too.  Each is "field" or { "field", ja = "...", en = "..." }
-- (or id = "field"); a field is a top-level key of the data or a dotted
-- path one level down.  Data fields the sheet does not name come after
-- them (docs/RULES.md).
local function sheet_columns(d)
  local out = array()
  if d.sheet == nil then return out end
  if type(d.sheet) ~= "table" then
    decl_error('kind "' .. d.id .. '": sheet = { { "field", ja = ..., en = ... }, ... } must be a list', 5)
  end
  for i, f in ipairs(d.sheet) do
    if type(f) == "string" then f = { id = f } end
    local id = type(f) == "table" and (f.id or f[1]) or nil
    if type(id) ~= "string" or id == "" or id:find("%.%.") or id:find("^%.") or id:find("%.$") then
      decl_error(sfmt('kind "%s": sheet[%d] needs a field path: "field" or { "field", ja = ..., en = ... }', d.id, i), 5)
    end
    out[i] = labelled({ id = id, ja = f.ja, en = f.en }, d.fields, true)
  end
  return out
end

-- A kind's identity (docs/RULES.md): which records are one thing (one
-- service, one person) whatever their ids.
--   identity = { title = { ja, en }, fields = { "a", { "b", "c" } },
--                normalize = "nfkc-space-case" | "exact", live = { states },
--                keeps = { "field" }, fields_title = { ja, en }, changed = { ja, en } }
-- A field is a top-level name or a dotted path; a list of fields is the
-- first of them that has a value.  `live`: the states in which a record
-- is the identity's one live record.  `keeps`: data fields that belong to
-- the identity, not the record: each record of it starts with them, and
-- what a record adds to them (by key) stays with the identity.
local NORMALIZE = { exact = true, ["nfkc-space-case"] = true }
local function identity_decl(d)
  local idn = d.identity
  if idn == nil then return end
  local function bad(msg) decl_error('kind "' .. d.id .. '": identity: ' .. msg, 6) end
  if type(idn) ~= "table" then bad("a table { title, fields, normalize, live, keeps }") end
  for k in pairs(idn) do
    if not contains({ "title", "fields", "fields_title", "normalize", "live", "keeps", "changed" }, k) then bad("unknown key `" .. tostring(k) .. "`") end
  end
  if not is_text(idn.title) then bad("title = { ja = ..., en = ... } is required") end
  if idn.fields_title ~= nil and not is_text(idn.fields_title) then bad("fields_title = { ja = ..., en = ... }: the fields in words") end
  if idn.changed ~= nil and not is_text(idn.changed) then bad("changed = { ja = ..., en = ... }: the refusal of a change of the identity") end
  if type(idn.fields) ~= "table" or #idn.fields == 0 or #idn.fields > 16 then bad("fields = { \"field\", ... } (1 to 16)") end
  for _, f in ipairs(idn.fields) do
    local alts = type(f) == "table" and f or { f }
    for _, a in ipairs(alts) do
      if type(a) ~= "string" or a == "" then bad("a field is a name, or a list of names (the first that has a value)") end
    end
  end
  idn.normalize = idn.normalize or "exact"
  if not NORMALIZE[idn.normalize] then bad("normalize is exact or nfkc-space-case") end
  if type(idn.live) ~= "table" or #idn.live == 0 then bad("live = { \"state\", ... } is required") end
  for _, st in ipairs(idn.live) do
    if not d.state_set[st] then bad("live: no state `" .. tostring(st) .. "`") end
  end
  idn.keeps = idn.keeps or {}
  if type(idn.keeps) ~= "table" then bad("keeps = { \"field\", ... }") end
end

-- ---------------------------------------------------------------- field schemas
-- A kind's `fields` (docs/RULES.md, "Fields"): what each field of its data
-- is, in a pack's words.  From it the core validates input before the
-- pack's own `validate` (which keeps the rules between fields), names each
-- error's field once, normalises what it accepts (trimmed text, dates as
-- YYYY-MM-DD, an enumeration's label as its code, "0042" as 42), and
-- rules.status describes the record (liuctl types key=value pairs and CSV
-- cells by it).
local FIELD_TYPES = { "text", "integer", "number", "boolean", "date", "month", "enum", "list", "object", "map", "any" }
local FIELD_KEYS = { "type", "ja", "en", "required", "max", "min", "pattern", "pattern_why", "digits", "values",
                     "order", "open", "of", "fields", "check", "bidi", "or_date", "recorded", "max_errors",
                     "short", "priority" }

local function field_words(spec, path)
  return { ja = type(spec.ja) == "string" and spec.ja or path, en = type(spec.en) == "string" and spec.en or path }
end

-- Checks one field's declaration (raising at the kind's line) and fills
-- what the core needs: enumerations' order, nested objects' fields.
local function field_decl(d, path, spec)
  local function bad(msg)
    error(sfmt('%s: %s "%s": %s: %s: %s', d.where, d.what or "kind", d.id, d.part or "fields", path, msg), 0)
  end
  if type(spec) ~= "table" then bad('a field is { type = "text", ja = ..., en = ... }') end
  for k in pairs(spec) do
    if not contains(FIELD_KEYS, k) then bad("unknown key `" .. tostring(k) .. "` (a field takes: " .. tconcat(FIELD_KEYS, ", ") .. ")") end
  end
  if LABEL_KEYS.table_words(spec) then bad(LABEL_KEYS.table_words(spec)) end
  spec.type = spec.type or "text"
  if not contains(FIELD_TYPES, spec.type) then bad("type is one of " .. tconcat(FIELD_TYPES, ", ")) end
  if spec.check ~= nil and type(spec.check) ~= "function" then bad("check is a function (value, app) returning nil or { ja = ..., en = ... }") end
  if spec.type == "enum" then
    if type(spec.values) ~= "table" or next(spec.values) == nil then bad("an enum needs values = { code = { ja = ..., en = ..., aliases = { ... } }, ... }") end
    for code, names in pairs(spec.values) do
      if type(code) ~= "string" or not is_text(names) then bad("values: each code is { ja = ..., en = ... }") end
    end
    if spec.order == nil then
      spec.order = {}
      for code in pairs(spec.values) do spec.order[#spec.order + 1] = code end
      tsort(spec.order)
    end
  elseif spec.type == "list" then
    if spec.of == nil then bad('a list needs of = { type = ... } (what each item is)') end
    field_decl(d, path .. "[]", spec.of)
  elseif spec.type == "object" then
    if type(spec.fields) ~= "table" then bad("an object needs fields = { name = { ... }, ... }") end
    for k, f in pairs(spec.fields) do field_decl(d, path .. "." .. tostring(k), f) end
  end
  if spec.min ~= nil and spec.type == "date" then
    if type(spec.min) == "string" then spec.min = { on = spec.min } end
    if type(spec.min) ~= "table" or not date(spec.min.on) then bad('min = "YYYY-MM-DD" or { on = "YYYY-MM-DD", ja = ..., en = ... }') end
  end
end

-- The fields of a kind, checked; and the paths that allow bidi controls
-- (bidi = true) added to allow_bidi.
local function fields_decl(d)
  if d.fields == nil then return end
  if type(d.fields) ~= "table" then decl_error('kind "' .. d.id .. '": fields = { name = { type = ..., ... }, ... }', 5) end
  local allow = d.allow_bidi and copy(d.allow_bidi) or {}
  local function walk(fields, prefix)
    for k, f in pairs(fields) do
      field_decl(d, prefix .. k, f)
      if f.bidi then allow[#allow + 1] = prefix .. k end
      if f.type == "object" then walk(f.fields, prefix .. k .. ".") end
      if f.type == "list" and f.of.type == "object" then walk(f.of.fields, prefix .. k .. ".") end
    end
  end
  walk(d.fields, "")
  if #allow > 0 then d.allow_bidi = allow end
end

local FULLWIDTH_SPACE = "\227\128\128"
local function trim(s)
  repeat
    local before = s
    local first = s:find("%S")
    if not first then return "" end
    s = s:sub(first, s:find("%s*$", first) - 1)
    if s:sub(1, 3) == FULLWIDTH_SPACE then s = s:sub(4) end
    if s:sub(-3) == FULLWIDTH_SPACE then s = s:sub(1, -4) end
  until s == before
  return s
end
-- Full-width digits (０-９) to ASCII.
local function ascii_digits(s)
  return (s:gsub("\239\188([\144-\153])", function(b) return string.char(b:byte() - 144 + 48) end))
end
local function days_in_month(y, m)
  if m == 2 then return (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28 end
  return (m == 4 or m == 6 or m == 9 or m == 11) and 30 or 31
end

-- A date as people write it, made a text date() reads: trimmed, digits
-- ASCII, 西暦 in kanji (2023年6月1日), Excel's 2023/6/1, and a month's end
-- (令和7年3月末, 2025年3月末) as its last day.
local function date_text(v)
  local s = ascii_digits(trim(v))
  local y, m, d = s:match("^(%d%d%d%d)年(%d%d?)月(%d%d?)日$")
  if not y then y, m, d = s:match("^(%d%d%d%d)/(%d%d?)/(%d%d?)$") end
  if y then return sfmt("%s-%02d-%02d", y, tonumber(m), tonumber(d)) end
  local head, mm = s:match("^(.-年)(%d%d?)月末$")
  if head then
    local first, why = date(date_text(head .. mm .. "月1日"))
    if not first then return nil, why end
    local fy, fm = tonumber(first:sub(1, 4)), tonumber(first:sub(6, 7))
    return sfmt("%04d-%02d-%02d", fy, fm, days_in_month(fy, fm))
  end
  return s
end

-- read_date(v) -> "YYYY-MM-DD" (JST), or nil and why: every form a field of
-- type date accepts, years 1900-9999 (the host writes years below 1000
-- without leading zeros; a year before 1900 is a typing mistake).
-- The dates read last are kept (every check reads the same few dates of a
-- record, each a trim, a gsub and the host's parse): a pure function of the
-- text, cleared when full, as squeeze's.
local read_date = (function()
  local memo, n = {}, 0
  return function(v)
    local d, why = memo[v], nil
    if d then return d end
    if type(v) == "string" then
      local s
      s, why = date_text(v)
      if s then d, why = date(s) end
    else
      d, why = date(v)
    end
    if d and (not d:match("^%d%d%d%d%-%d%d%-%d%d$") or tonumber(d:sub(1, 4)) < 1900) then
      return nil, text("年が範囲外です（1900年以降）", "year out of range (1900 or later)")
    end
    if d and type(v) == "string" and #v <= 100 then
      if n >= 256 then memo, n = {}, 0 end
      memo[v], n = d, n + 1
    end
    return d, why
  end
end)()

-- read_month(v, or_date) -> "YYYY-MM" (or "YYYY-MM-DD" when or_date and v is
-- a day), or nil and why: 2024-10, 2024年10月, 2024/10, 令和6年10月.
local read_month
do
local memo, n = { [true] = {}, [false] = {} }, 0   -- as read_date's: months read last
local function read_month_text(v, or_date)
  local eg = or_date and text("（年月 2024-10 または日付で書いてください）", " (write a month, 2024-10, or a date)")
                     or text("（例: 2024-10）", " (e.g. 2024-10)")
  if type(v) ~= "string" then return nil, text("文字列ではありません" .. eg.ja, "must be text" .. eg.en) end
  v = ascii_digits(trim(v))
  local y, m = v:match("^(%d%d%d%d)%-(%d%d)$")
  if not y then y, m = v:match("^(%d%d%d%d)年(%d%d?)月$") end
  if not y then y, m = v:match("^(%d%d%d%d)/(%d%d?)$") end
  if y then
    m = tonumber(m)
    if m < 1 or m > 12 then return nil, text("存在しない月です", "no such month") end
    if tonumber(y) < 1000 or tonumber(y) > 9998 then return nil, text("年が範囲外です", "year out of range") end
    return sfmt("%s-%02d", y, m)
  end
  if v:match("月$") then                              -- 和暦の月: 令和6年10月
    local d, why = read_date(v .. "1日")
    if not d then return nil, why end
    return d:sub(1, 7)
  end
  if not or_date then return nil, text("年月として読めません" .. eg.ja, "not a month" .. eg.en) end
  local d, why = read_date(v)
  if not d then return nil, text(why.ja .. eg.ja, why.en .. eg.en) end
  return d
end
function read_month(v, or_date)
  local m = memo[or_date and true or false]
  local p = m[v]
  if p then return p end
  local why
  p, why = read_month_text(v, or_date)
  if p and type(v) == "string" and #v <= 100 then
    if n >= 256 then memo, n = { [true] = {}, [false] = {} }, 0 end
    memo[or_date and true or false][v], n = p, n + 1
  end
  return p, why
end
end

-- wareki("2024-06-01") -> "令和6年6月1日", a month "2024-06" -> "令和6年6月"
-- (the era of its first day); any other value is returned as it is.
-- ja_date gives the 西暦 after it, as Japanese prose writes a date:
-- "令和6年6月1日（2024年6月1日）".
local function wareki(d)
  return type(d) == "string" and host.wareki(d) or d
end
local function ja_date(d)
  local w = wareki(d)
  if w == d then return d end
  local y, m, day = d:match("^(%d+)%-(%d+)%-?(%d*)$")
  return sfmt("%s（%d年%d月%s）", w, y, m, day ~= "" and (tonumber(day) .. "日") or "")
end

local function is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in next, t do n = n + 1 end
  return n == #t
end
local function shown(v)
  if type(v) == "string" or type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  if v == nil then return "—" end
  return is_list(v) and "[…]" or "{…}"
end
-- Kept for the texts seen last (a field of type enum squeezes each code's
-- names on every read): a pure function of a string, so nothing a call can
-- observe; short texts only, cleared when full, so that a flood of new
-- texts cannot grow it.
local squeeze = (function()
  local memo, n = {}, 0
  return function(v)
    local s = memo[v]
    if s then return s end
    s = v:gsub("%s", ""):gsub(FULLWIDTH_SPACE, ""):lower()
    if #v > 200 then return s end
    if n >= 256 then memo, n = {}, 0 end
    memo[v], n = s, n + 1
    return s
  end
end)()

local function sorted_names(t)
  local out = {}
  for k in next, t do out[#out + 1] = tostring(k) end
  tsort(out)
  return out
end

-- The code of an enumeration given as itself, its ja or en name or an
-- alias (spaces and case aside), or nil.
local function enum_code(spec, v)
  if type(v) ~= "string" then return nil end
  local want = squeeze(v)
  for _, code in ipairs(spec.order) do
    local n = spec.values[code]
    if squeeze(code) == want or squeeze(n.ja) == want or squeeze(n.en) == want then return code end
    for _, a in ipairs(n.aliases or {}) do if squeeze(a) == want then return code end end
  end
  return nil
end

-- code_of(values, v): the code of values[code] = { ja, en, aliases } that v
-- names (as a field of type enum reads it), or nil.
local function code_of(values, v)
  if type(values) ~= "table" then return nil end
  return enum_code({ values = values, order = sorted_names(values) }, v)
end

local function enum_list(spec)
  local ja, en = {}, {}
  for i, code in ipairs(spec.order) do
    local n = spec.values[code]
    ja[i] = code .. "（" .. n.ja .. "）"
    en[i] = n.en == code and code or (code .. " (" .. n.en .. ")")
  end
  local last = table.remove(en)
  return text(tconcat(ja, "、"), (#en > 0 and tconcat(en, ", ") .. " or " or "") .. last)
end


-- A number from a cell or a pair typed as text: "0042" -> 42, "1,200" no.
local function number_of(v, integer)
  if type(v) == "string" then
    local s = ascii_digits(trim(v))
    if integer and s:match("^[+-]?%d+$") then return math.tointeger(tonumber(s)) end
    if not integer and s:match("^[+-]?%d+%.?%d*$") then return tonumber(s) end
    return nil
  end
  if integer then return math.type(v) == "integer" and v or (math.type(v) == "float" and math.tointeger(v)) or nil end
  return type(v) == "number" and v or nil
end

-- A value as an English sentence quotes it: "2024-13", not `2024-13`.
local function quoted(v)
  if type(v) == "string" and trim(v) == "" then return "an empty text" end
  return '"' .. shown(v) .. '"'
end

-- A month that cannot be read: the value, the forms a month takes and the
-- cause (read_month's), unless the cause only says it is no month.
local function month_why(v, or_date, why)
  local form = or_date and text("年月（YYYY-MM）または日付", "a month (YYYY-MM) or a date")
                       or text("年月（YYYY-MM）", "a month (YYYY-MM)")
  if tostring(why.en):find("^not a ") then
    return text(form.ja .. "として読めません（記入された値: 「" .. v .. "」、例: 2024-10）",
                quoted(v) .. " is not " .. form.en .. " (e.g. 2024-10)")
  end
  return text(form.ja .. "として読めません（「" .. v .. "」: " .. why.ja .. "）",
              quoted(v) .. " is not " .. form.en .. ": " .. why.en)
end

-- Validates v (the field at `path`, declared by spec): returns the
-- normalised value, or nil after bad(path, why).  `app` is the whole record
-- (for a check that reads another field).
local field_value
local function object_value(fields, v, path, bad, app)
  if type(v) ~= "table" or (next(v) ~= nil and is_list(v)) then
    return bad(path, text("項目の組（オブジェクト）ではありません", "must be an object"))
  end
  local known = sorted_names(fields)
  for k in next, v do
    if fields[k] == nil then
      local p = path .. "." .. tostring(k)
      bad(p, text("不明な項目です（使える項目: " .. tconcat(known, ", ") .. "）",
                  "unknown field (known: " .. tconcat(known, ", ") .. ")"), text(tostring(k), tostring(k)))
    end
  end
  for _, k in ipairs(known) do
    local f = fields[k]
    if not f.recorded then
      local x = v[k]
      if x == nil then
        if f.required then bad(path .. "." .. k, text("必須です", "is required"), field_words(f, k)) end
      else
        local n = field_value(f, x, path .. "." .. k, bad, app)
        if n ~= nil then v[k] = n end
      end
    end
  end
  return v
end

field_value = function(spec, v, path, bad0, app)
  local words = field_words(spec, path)
  local function bad(why, p, w) return bad0(p or path, why, w or (p == nil and words) or nil) end
  local t, out = spec.type, v
  if t == "text" then
    if type(v) ~= "string" then return bad(text("文字列ではありません", "must be text")) end
    if not utf8.len(v) then return bad(text("UTF-8 の文字列ではありません", "is not UTF-8 text")) end
    if v:find("[\0-\31\127]") then return bad(text("改行や制御文字は使えません", "must not contain line breaks or control characters")) end
    out = trim(v)
    if spec.digits then out = ascii_digits(out) end
    if out == "" then return bad(text("空です", "is empty")) end
    if spec.max and utf8.len(out) > spec.max then
      return bad(text(sfmt("%d 文字以内にしてください", spec.max), sfmt("must be at most %d characters", spec.max)))
    end
    if spec.pattern and not out:match(spec.pattern) then
      return bad(spec.pattern_why or text("書式が正しくありません", "is not in the expected form"))
    end
  elseif t == "integer" or t == "number" then
    out = number_of(v, t == "integer")
    if out == nil then
      return bad(t == "integer" and text("整数で記入してください（「" .. shown(v) .. "」は整数として読めません）", "must be a whole number, not " .. quoted(v))
                                or text("数で記入してください（「" .. shown(v) .. "」は数として読めません）", "must be a number, not " .. quoted(v)))
    end
    if spec.min and out < spec.min then return bad(text(sfmt("%s 以上にしてください", spec.min), sfmt("must be at least %s", spec.min))) end
    if spec.max and out > spec.max then return bad(text(sfmt("%s 以下にしてください", spec.max), sfmt("must be at most %s", spec.max))) end
  elseif t == "boolean" then
    local s = type(v) == "string" and squeeze(v)
    if s == "true" or s == "はい" or s == "yes" then out = true
    elseif s == "false" or s == "いいえ" or s == "no" then out = false
    elseif type(v) ~= "boolean" then return bad(text("true または false で記入してください", "must be true or false")) end
  elseif t == "date" then
    local d, why = read_date(v)
    if not d then
      -- The host's "not a date (use YYYY-MM-DD)" says what this says, and
      -- its example is one of ours: said once, with the forms accepted.
      local generic = tostring(why.en):find("^not a date") ~= nil
      return bad(text("日付として読めません" .. (generic and "" or ": " .. why.ja) .. "（例: 2023-06-01、2023/6/1、令和5年6月1日、令和7年3月末）",
                      "not a date" .. (generic and "" or ": " .. why.en) .. " (e.g. 2023-06-01, 2023/6/1, 令和5年6月1日 or 令和7年3月末)"))
    end
    out = d
    if spec.min and d < spec.min.on then
      bad(text((spec.min.ja or spec.min.on) .. "より前です", "is before " .. (spec.min.en or spec.min.on)))
      return nil
    end
  elseif t == "month" then
    local m, why = read_month(v, spec.or_date)
    if not m then return bad(type(v) == "string" and month_why(v, spec.or_date, why) or why) end
    out = m
  elseif t == "enum" then
    out = enum_code(spec, v)
    if out == nil and spec.open and type(v) == "string" then
      out = field_value({ type = "text", max = spec.max or 200, ja = spec.ja, en = spec.en }, v, path, bad0, app)
      if out == nil then return nil end
    elseif out == nil then
      local list = enum_list(spec)
      return bad(text(list.ja .. "のいずれかを記入してください（「" .. shown(v) .. "」は選択肢にありません）",
                      "must be " .. list.en .. ", not " .. quoted(v)))
    end
  elseif t == "list" then
    if type(v) ~= "table" or not is_list(v) then
      return bad(text("リストではありません", "must be a list"))
    end
    out = array()
    for i, x in ipairs(v) do
      local p = sfmt("%s[%d]", path, i)
      local n = field_value(spec.of, x, p, bad0, app)
      out[i] = n == nil and x or n
    end
  elseif t == "object" then
    if object_value(spec.fields, v, path, bad0, app) == nil then return nil end
  elseif t == "map" then
    if type(v) ~= "table" or (next(v) ~= nil and is_list(v)) then
      return bad(text("項目の組（オブジェクト）ではありません", "must be an object"))
    end
  end
  if spec.check then
    -- check(value, app, bad): returns a reason for this field, or calls
    -- bad(subpath, reason) for a part of it (a map's entries).
    local n, limit = 0, spec.max_errors or 20
    local why = spec.check(out, app, function(sub, r)
      n = n + 1
      if n <= limit then bad0(path .. "." .. tostring(sub), r) end
    end)
    if n > limit then
      bad0(path, text(sfmt("ほかに %d 件の誤りがあります", n - limit), sfmt("%d more errors", n - limit)))
    end
    if why then return bad(why) end
    if n > 0 then return nil end
  end
  return out
end

-- The errors of data under the kind's fields: all of them, or only the
-- top-level fields in `changed` (the rest were validated when written).
-- Each error names its field once: the path, and in Japanese its name.
local function schema_errors(kind, data, changed)
  local fields = kind.fields
  local errs = array()
  local function bad(path, why, words)
    -- A reason whose subject is a value (「「x」は指定できません」; a note in
    -- brackets aside) follows the
    -- field's name after "：", so that one sentence has one は; else the
    -- name is its subject, Latin after it taking a space (「結果は low…」).
    local ja = words and ((why.ja:gsub("（[^（）]*）", "")):find("」は", 1, true) and words.ja .. "：" .. why.ja
                          or words.ja .. "は" .. (why.ja:find("^%a") and " " or "") .. why.ja) or why.ja
    errs[#errs + 1] = { field = path, reason = text(ja, why.en) }
  end
  -- Only the changed fields are walked when they are given (in the same
  -- order: both lists sorted), and all the names are listed only in a message.
  local names, known = sorted_names(changed or data), nil
  for _, k in ipairs(names) do
    if data[k] ~= nil and fields[k] == nil then
      known = known or sorted_names(fields)
      bad(k, text("不明な項目です（使える項目: " .. tconcat(known, ", ") .. "）",
                  "unknown field (known: " .. tconcat(known, ", ") .. ")"), text(k, k))
    end
  end
  for _, k in ipairs(changed and names or sorted_names(fields)) do
    local f = fields[k]
    if f and not f.recorded and (changed == nil or changed[k]) then
      local v = data[k]
      if v == nil then
        if f.required then bad(k, text("必須です", "is required"), field_words(f, k)) end
      else
        local n = field_value(f, v, k, bad, data)
        if n ~= nil then data[k] = n end
      end
    end
  end
  return errs
end

-- read_field(spec, v): v read as a field declared by spec would be (an
-- action's parameter, a value from a data file): the normalised value, or
-- nil and why ({ ja, en }, the reason alone; the first problem found).
local function read_field(spec, v)
  if type(spec) ~= "table" then error("read_field: a field declaration { type = ..., ... } first", 2) end
  spec = copy(spec)
  field_decl({ where = where(3), id = "read_field" }, "value", spec)
  local why
  local out = field_value(spec, v, "value", function(_, r) why = why or r end, {})
  if why then return nil, why end
  return out
end

-- The fields as rules.status gives them: { id, type, ja, en, required,
-- values (an enum's codes), of, fields }, in name order.
local function fields_described(fields)
  local out = array()
  for _, k in ipairs(sorted_names(fields)) do
    local f = fields[k]
    local d = { id = k, type = f.type, ja = f.ja, en = f.en, required = f.required and true or nil,
                recorded = f.recorded and true or nil, max = type(f.max) == "number" and f.max or nil }
    if f.type == "enum" then
      d.values = array()
      for i, code in ipairs(f.order) do d.values[i] = { id = code, ja = f.values[code].ja, en = f.values[code].en } end
    elseif f.type == "object" then d.fields = fields_described(f.fields)
    elseif f.type == "list" then
      d.of = { type = f.of.type, fields = f.of.type == "object" and fields_described(f.of.fields) or nil }
    end
    out[#out + 1] = d
  end
  return out
end

-- state_titles = { state = { ja = ..., en = ... }, ... }: of declared states.
local function state_titles_decl(d)
  local st = d.state_titles
  if st == nil then return end
  if type(st) ~= "table" then
    decl_error('kind "' .. d.id .. '": state_titles = { open = { ja = ..., en = ... }, ... } must be a table', 4)
  end
  for s, t in pairs(st) do
    if not d.state_set[s] then
      decl_error(sfmt('kind "%s": state_titles: no state `%s` (its states: %s)', d.id, tostring(s), tconcat(d.states, ", ")), 4)
    end
    if not is_text(t) then
      decl_error(sfmt('kind "%s": state_titles.%s must be { ja = "...", en = "..." }', d.id, s), 4)
    end
  end
end

local kind_decl = declare("kind", defs.kinds, defs.kind_order, function(d)
  need_title(d, "kind")
  if d.validate ~= nil and type(d.validate) ~= "function" then
    decl_error('kind "' .. d.id .. '": validate must be a function (app, err, at, changed)', 4)
  end
  if type(d.states) ~= "table" or #d.states == 0 then
    decl_error('kind "' .. d.id .. '": states = { "submitted", ... } is required', 4)
  end
  d.state_set = set_of(d.states)
  state_titles_decl(d)
  identity_decl(d)
  d.id_prefix = d.id_prefix or (d.id .. "-")
  -- key: the data field whose value names the record (id_prefix .. value),
  -- so that there is at most one record per value, ever, and the field
  -- never changes once written.
  if d.key ~= nil and (type(d.key) ~= "string" or not d.key:match("^[%a_][%w_]*$")) then
    decl_error('kind "' .. d.id .. '": key = "field" names a top-level field of the data', 4)
  end
  d.summary_fields = summary_fields(d)
  if d.summary ~= nil and type(d.summary) ~= "function" then
    decl_error('kind "' .. d.id .. '": summary must be a function (app, at, rec) returning { { ja = ..., en = ..., value = ... }, ... }', 4)
  end
  -- The data fields record.list's `search` looks in (dotted paths); none
  -- declared: the summary fields.
  local sf = d.search_fields
  if sf ~= nil then
    if type(sf) ~= "table" then
      decl_error('kind "' .. d.id .. '": search_fields = { "field.path", ... } must be a list', 4)
    end
    for _, f in ipairs(sf) do
      if type(f) ~= "string" or f == "" then
        decl_error('kind "' .. d.id .. '": search_fields lists data fields such as "provider_name"', 4)
      end
    end
    d.search_fields = array(copy(sf))
  end
  d.sheet = sheet_columns(d)
  -- The handling marking of an export of its records (the first line of
  -- the CSV, the first row of the .xlsx), as a view's.
  if d.marking ~= nil and not is_text(d.marking) then
    decl_error('kind "' .. d.id .. '": marking must be { ja = "...", en = "..." }', 4)
  end
  fields_decl(d)
  local ab = d.allow_bidi
  if ab ~= nil then
    if type(ab) ~= "table" then
      decl_error('kind "' .. d.id .. '": allow_bidi = { "field.path", ... } must be a list', 4)
    end
    for _, f in ipairs(ab) do
      if type(f) ~= "string" or f == "" then
        decl_error('kind "' .. d.id .. '": allow_bidi lists field paths such as "quote.text"', 4)
      end
    end
  end
end)

local function check_fn(d)
  local fn = d.test or d[1]
  if type(fn) ~= "function" then
    decl_error('check "' .. d.id .. '": needs a function (app, at, rec)', 4)
  end
  d.fn, d[1] = fn, nil
end

local check_decl = declare("check", defs.checks, defs.check_order, function(d)
  need_title(d, "check")
  check_fn(d)
end)

local action_decl = declare("action", defs.actions, defs.action_order, function(d)
  need_title(d, "action")
  if type(d.kind) ~= "string" then decl_error('action "' .. d.id .. '": kind = "..." is required', 4) end
  if type(d.roles) ~= "table" then decl_error('action "' .. d.id .. '": roles = { ... } is required', 4) end
  if d.run ~= nil and type(d.run) ~= "function" then
    decl_error('action "' .. d.id .. '": run must be a function (app, params, at, rec)', 4)
  end
  if not d.creates and type(d.from) ~= "table" then
    decl_error('action "' .. d.id .. '": from = { states... } is required (or creates = true)', 4)
  end
  if d.creates and type(d.to) ~= "string" then
    decl_error('action "' .. d.id .. '": a creating action needs to = "state"', 4)
  end
  if d.during ~= nil and type(d.during) ~= "string" then
    decl_error('action "' .. d.id .. '": during = "measure" names the measure it needs in force', 4)
  end
  -- params (optional): what the action takes: { "name", ... } or
  -- { { id = "name", ja = ..., en = ..., type = "text", required = true }, ... },
  -- each entry a field declaration besides its id.  For people (liuctl act
  -- --help, rules.status; liuctl sends a key=value of a "text" param as
  -- text), and for read_params, which reads them as fields are read.
  if d.params ~= nil then
    if type(d.params) ~= "table" then
      decl_error('action "' .. d.id .. '": params must be a list: { "name", ... } or { { id = "name", ja = ..., en = ... }, ... }', 4)
    end
    local list, specs = array(), {}
    for i, prm in ipairs(d.params) do
      if type(prm) == "string" then prm = { id = prm } end
      if type(prm) ~= "table" or type(prm.id) ~= "string" or prm.id == "" then
        decl_error(sfmt('action "%s": params[%d] needs a name: "name" or { id = "name", ja = ..., en = ... }', d.id, i), 4)
      end
      for _, k in ipairs({ "ja", "en" }) do
        if prm[k] ~= nil and type(prm[k]) ~= "string" then
          decl_error(sfmt('action "%s": params[%d].%s must be text', d.id, i, k), 4)
        end
      end
      local spec = copy(prm)
      spec.id, spec.type = nil, prm.type or "any"
      -- A list or an object the declaration does not describe is taken as given.
      if (spec.type == "list" and spec.of == nil) or (spec.type == "object" and spec.fields == nil) then
        spec.type = "any"
      end
      field_decl({ where = d.where, id = d.id, what = "action", part = "params" }, prm.id, spec)
      spec.id = prm.id
      specs[i] = spec
      list[i] = { id = prm.id, ja = prm.ja, en = prm.en, type = prm.type, required = prm.required and true or false }
    end
    d.param_specs = specs
    d.param_list = list
  end
end)

-- The core methods a pack role may be given (rpc.c marks them R_PACK).  The
-- rest are the core's: status, rules.status, act, view and import are open to
-- every role (act and view then check the action's or view's own roles);
-- enforce, audit.verify, backup, clock.set and metrics are admin's alone, so
-- that no pack can hand out the database or the clock.
local ROLE_METHODS = { "record.get", "record.list", "eval", "history", "deadlines",
                       "rules.check", "rules.diff", "rules.reload", "rules.history", "rules.rollback" }

local role_decl = declare("role", defs.roles, defs.role_order, function(d)
  if d.id == "admin" then decl_error('role "admin" is the core\'s (it may do everything); a pack does not declare it', 4) end
  if #d.id > 63 or not d.id:match("^[a-z][a-z0-9_%-]*$") then
    decl_error(sfmt('role %q: an id is 1 to 63 of a-z, 0-9, "_" and "-", starting with a letter', d.id), 4)
  end
  need_title(d, "role")
  if d.methods ~= nil and type(d.methods) ~= "table" then
    decl_error('role "' .. d.id .. '": methods = { "record.list", ... } must be a list', 4)
  end
  for _, m in ipairs(d.methods or {}) do
    if not contains(ROLE_METHODS, m) then
      decl_error(sfmt('role "%s": methods: `%s` is not a method a pack role may be given (%s)',
                      d.id, tostring(m), tconcat(ROLE_METHODS, ", ")), 4)
    end
  end
  d.methods = d.methods or {}
end)

local view_decl = declare("view", defs.views, defs.view_order, function(d)
  need_title(d, "view")
  if type(d.kind) ~= "string" then decl_error('view "' .. d.id .. '": kind = "..." is required', 4) end
  if type(d.roles) ~= "table" then decl_error('view "' .. d.id .. '": roles = { ... } is required', 4) end
  if type(d.columns) ~= "table" or #d.columns == 0 then
    decl_error('view "' .. d.id .. '": columns = { { id = ..., ja = ..., en = ... }, ... } is required', 4)
  end
  for i, c in ipairs(d.columns) do
    if type(c) == "string" then c = { id = c }; d.columns[i] = c end
    if type(c) ~= "table" or type(c.id) ~= "string" then
      decl_error(sfmt('view "%s": column %d needs id = "..."', d.id, i), 4)
    end
    for k in next, c do
      if not contains(LABEL_KEYS, k) then
        decl_error(sfmt('view "%s": columns[%d]: unknown key `%s` (a column takes: %s)', d.id, i, tostring(k),
                        tconcat(LABEL_KEYS, ", ")), 4)
      end
    end
    local why = LABEL_KEYS.table_words(c)
    if why then decl_error(sfmt('view "%s": columns[%d]: %s', d.id, i, why), 4) end
  end
  -- The handling marking every format of the view carries (its CSV in the
  -- first line); none unless the pack declares one.
  if d.marking ~= nil and not is_text(d.marking) then
    decl_error('view "' .. d.id .. '": marking must be { ja = "...", en = "..." }', 4)
  end
  if type(d.row) ~= "function" then decl_error('view "' .. d.id .. '": row = function (app, rec, params, at) is required', 4) end
end)

local function expiry_decl(measure_id)
  if not loading then error("on_expiry is only allowed while the pack loads", 2) end
  return function(spec)
    if type(spec) ~= "table" or type(spec.run) ~= "function" or type(spec.kind) ~= "string" then
      error('on_expiry "' .. tostring(measure_id) .. '" needs { kind = "...", states = {...}, run = function (app, at, rec) }', 2)
    end
    known_decl_keys(spec, "on_expiry", tostring(measure_id), 3)
    local d = copy(spec)
    d.measure, d.where = measure_id, where(3)
    local list = defs.expiry[measure_id] or {}
    list[#list + 1] = d
    defs.expiry[measure_id] = list
  end
end

local function summary_decl(id)
  if not loading then error("summary is only allowed while the pack loads", 2) end
  return function(fn)
    if type(fn) ~= "function" then error('summary "' .. tostring(id) .. '" needs a function (app, at, rec)', 2) end
    if defs.summaries[id] then error('summary "' .. id .. '" is declared twice', 2) end
    defs.summaries[id] = fn
    defs.summary_order[#defs.summary_order + 1] = id
  end
end

-- ---------------------------------------------------------------- outcomes

-- Thrown (or returned) from rules; recognised by their metatables, which
-- rule code cannot reach or forge.
local REFUSAL, INVALID = { __metatable = false }, { __metatable = false }
local PASS_MT, FAIL_MT = { __metatable = false }, { __metatable = false }
local PASS = setmetatable({ ok = true }, PASS_MT)

-- pass() or pass { ja = …, en = … }: met, said in the check's own words
-- (「運用期間内です」) rather than the general 「満たしています」.
local function pass(reason, en)
  if reason == nil then return PASS end
  if type(reason) == "string" then reason = text(reason, en) end
  if not is_text(reason) then error("pass takes nothing or { ja = ..., en = ... }", 2) end
  return setmetatable({ ok = true, reason = reason }, PASS_MT)
end

local function fail(reason, en)
  if type(reason) == "string" then reason = text(reason, en) end
  if not is_text(reason) then error("fail needs { ja = ..., en = ... }", 2) end
  return setmetatable({ ok = false, reason = reason }, FAIL_MT)
end

local function refuse(reason, en)
  if type(reason) == "string" then reason = text(reason, en) end
  if not is_text(reason) then error("refuse needs { ja = ..., en = ... }", 2) end
  error(setmetatable({ reasons = { reason } }, REFUSAL), 0)
end

-- invalid(field, ja, en): stops an action like refuse, but as invalid params
-- (-32602) naming the field, for a bad parameter of the action.
local function invalid(field, reason, en)
  if type(reason) == "string" then reason = text(reason, en) end
  if type(field) ~= "string" or not is_text(reason) then
    error("invalid needs a field and { ja = ..., en = ... }", 2)
  end
  error(setmetatable({ errors = { { field = field, reason = reason } } }, INVALID), 0)
end

local call_events                  -- events of the call in progress
local call_count                   -- count(kind, state) of the action in progress
local run_checks                   -- defined with the API below

-- count(kind, states) -> n: how many records of `kind` are in one of
-- `states` (a state or a list), as the latest versions say: the writes
-- before this one count, committed or not.  Only inside an action (an
-- action's outcome may depend on other records; eval, views and expiry
-- hooks judge one record, so that their answers can be kept).
local running_action     -- the action whose run is under way (read_params)

-- read_params(params): in an action's run, its params read by the action's
-- declared `params`, each as a field of that declaration is read.  Refuses
-- (-32004) a param not declared, a required one missing or a value its
-- declaration does not accept, naming the param; returns a new table of
-- the values, normalised (text trimmed, a date as YYYY-MM-DD, an enum's
-- name as its code).
local function read_params(params)
  local a = running_action
  if not a or not a.param_specs then error("read_params: only in the run of an action that declares params", 2) end
  local known = {}
  for i, spec in ipairs(a.param_specs) do known[i] = spec.id end
  local names = tconcat(known, ", ")
  for _, k in ipairs(sorted_names(params)) do
    if not contains(known, k) then
      refuse(text(k .. ": 不明なパラメータです（使えるもの: " .. names .. "）",
                  k .. ": unknown parameter (known: " .. names .. ")"))
    end
  end
  local out = {}
  for _, spec in ipairs(a.param_specs) do
    local v, words = params[spec.id], field_words(spec, spec.id)
    if v == nil and spec.required then
      refuse(text(spec.id .. ": " .. words.ja .. "は必須です", spec.id .. ": " .. words.en .. " is required"))
    elseif v ~= nil then
      local why
      out[spec.id] = field_value(spec, v, spec.id, function(_, r) why = why or r end, params)
      -- One は a sentence: a reason with its own subject after "：" (schema_errors).
      if why then refuse(text(spec.id .. ": " .. words.ja .. ((why.ja:gsub("（[^（）]*）", "")):find("」は", 1, true) and "：" or "は") .. why.ja,
                              spec.id .. ": " .. why.en)) end
    end
  end
  return out
end

-- Whether a value given for field f reads as the value stored: equal, or
-- equal once read as the field is read (a choice's label as its code, a
-- date as YYYY-MM-DD); an object member by member.  A field whose reading
-- needs the whole record (its check fails alone) counts as changed.
local function reads_as(f, given, stored)
  if equal(given, stored) then return true end
  if not f then return false end
  if f.type == "object" and type(given) == "table" and type(stored) == "table" then
    for m in next, given do if stored[m] == nil then return false end end
    for m, w in next, stored do
      if not reads_as(f.fields[m], given[m], w) then return false end
    end
    return true
  end
  local ok, v = pcall(read_field, f, given)
  return ok and v ~= nil and equal(v, stored)
end

-- amend_fields(app, params): in an action's run, the record's top-level
-- fields that params gives replaced (each whole, by a copy), and those that
-- params.clear lists removed.  Refuses (-32004) a field the kind does not
-- declare, one it records itself, a required one to clear, or one both
-- given and cleared.  Returns the set of fields replaced or cleared, what
-- they were, and the set of those given that read as stored (「低位」 for a
-- stored low, a date typed 2023/6/1): those stay as stored, byte for byte,
-- and are not changed.  Only changed fields are read again.
local function amend_fields(app, params)
  local a = running_action
  if not a then error("amend_fields: only in the run of an action", 2) end
  local fields = defs.kinds[a.kind].fields or {}
  -- A field params may give (declared, not recorded by the pack), looked up
  -- as asked; all of their names only for a refusal's message.
  local function open(k)
    local f = rawget(fields, k)
    if f ~= nil and not f.recorded then return f end
  end
  for _, k in ipairs(sorted_names(params)) do
    if k ~= "clear" and (next(fields) ~= nil and not open(k)) then
      local known = {}
      for n, f in next, fields do if not f.recorded then known[#known + 1] = n end end
      tsort(known)
      refuse(text(k .. ": 不明な項目です（使える項目: " .. tconcat(known, "、") .. "、clear）",
                  k .. ": unknown field (known: " .. tconcat(known, ", ") .. ", clear)"))
    end
  end
  local changed, before, same = {}, {}, {}
  for k, v in next, params do
    if k == "clear" then -- below
    elseif app[k] ~= nil and reads_as(open(k), v, app[k]) then before[k], same[k] = app[k], true
    else before[k], app[k], changed[k] = app[k], copy(v), true end
  end
  local clear = params.clear
  if clear == nil then return changed, before, same end
  if type(clear) ~= "table" or not is_list(clear) then
    refuse(text("clear: 消す項目名のリストで書いてください", "clear: must be a list of field names"))
  end
  for _, k in ipairs(clear) do
    if type(k) ~= "string" or (next(fields) ~= nil and (not open(k) or open(k).required)) then
      refuse(text("clear: 「" .. tostring(k) .. "」は消せる項目ではありません",
                  "clear: \"" .. tostring(k) .. "\" is not an optional field"))
    elseif params[k] ~= nil then
      refuse(text("clear: 「" .. k .. "」を変更と同時に消すことはできません",
                  "clear: \"" .. k .. "\" is both given and cleared"))
    end
    if not changed[k] then before[k] = app[k] end
    app[k], changed[k] = nil, true
  end
  return changed, before, same
end

local function count(kind_id, states)
  if not call_count then error("count() is only possible inside an action", 2) end
  local k = defs.kinds[kind_id]
  if not k then error(sfmt("count: no kind %q", tostring(kind_id)), 2) end
  if type(states) == "string" then states = { states } end
  if type(states) ~= "table" then error("count(kind, states): states is a state or a list of states", 2) end
  local n, seen = 0, {}
  for _, st in ipairs(states) do
    if not k.state_set[st] then error(sfmt("count: %q is not a state of %s", tostring(st), kind_id), 2) end
    if not seen[st] then seen[st] = true; n = n + call_count(kind_id, st) end
  end
  return n
end

local function emit(kind, fields)
  if type(kind) ~= "string" then error("emit needs an event type", 2) end
  if not call_events then error("emit is only possible inside an action or expiry hook", 2) end
  local e = copy(fields or {})
  e.type = kind
  call_events[#call_events + 1] = e
end

-- ---------------------------------------------------------------- data files

-- csv("data/x.csv") -> list of rows keyed by the header line.  Only while the
-- pack loads: rules never do I/O.  The CSV is read in C (host.csv: the one
-- reader of the product, sheet.h), which skips blank lines and a BOM.
local function parse_csv(textdata, name)
  local records, why = host.csv(textdata)
  if not records then error(sfmt("%s: %s", name, why), 3) end
  local rows, header = array(), nil
  for _, fields in ipairs(records) do
    if not header then header = fields
    else
      local row = {}
      for i, h in ipairs(header) do row[h] = fields[i] or "" end
      rows[#rows + 1] = row
    end
  end
  return rows
end

-- Allowed while the pack's files load, and while its tests' files load (a
-- test may build from data what the pack builds): the host refuses it at
-- any other time, so that no call can depend on a file.
local function file(path)
  local content, err = host.read(path)
  if not content then error(err, 2) end
  return content
end

local function csv(path)
  return parse_csv(file(path), path)
end


-- ---------------------------------------------------------------- measure helpers
-- What every measure's checks ask (docs/RULES.md, "Outcomes and helpers"),
-- so that a pack says it in one line: whether a day falls within a
-- measure, which values a measure allows as of a day, which ids of a set
-- a statement leaves out.

-- The instants [s, e) of a day "YYYY-MM-DD" or a month "YYYY-MM"; nil
-- when v is neither.
local span_of
do
local memo, n = {}, 0
local function span_text(v)
  if type(v) ~= "string" then return nil end
  local y, m = v:match("^(%d%d%d%d)%-(%d%d)$")
  if y then
    local ny, nm = tonumber(y), tonumber(m) + 1
    if nm == 13 then ny, nm = ny + 1, 1 end
    local s, e = instant(v .. "-01"), instant(sfmt("%04d-%02d-01", ny, nm))
    if s and e then return s, e end
    return nil
  end
  local s = instant(v)
  if not s or not v:match("^%d%d%d%d%-%d%d%-%d%d$") then return nil end
  return s, s + 86400
end
-- The spans read last are kept, as read_date's dates (each check asks for
-- the period's days again); a span kept notes again, for the self-check,
-- the instants its first reading made (a month's two, a day's one).
function span_of(v)
  local c = memo[v]
  if c then
    if made_instants then
      made_instants[#made_instants + 1] = c[1]
      if #v == 7 then made_instants[#made_instants + 1] = c[2] end
    end
    return c[1], c[2]
  end
  local s, e = span_text(v)
  if s and #v <= 100 then
    if n >= 256 then memo, n = {}, 0 end
    memo[v], n = { s, e }, n + 1
  end
  return s, e
end
end

-- within(id, d): is measure `id` in force at some instant of the day or
-- month d ("YYYY-MM-DD", "YYYY-MM")?  false for a text that is neither.
local function within(id, d)
  local m = defs.measures[id]
  if not m then error(sfmt("within: no measure %q", tostring(id)), 2) end
  local s, e = span_of(d)
  if not s then return false end
  return (m.starts == nil or e > m.starts) and (m.ends == nil or s < m.ends)
end

-- allowed_on(id, value, d): whether measure `id` allows `value` on day d,
-- and the list it allows then: its `allowed` on a day within it, its
-- `allowed_before` (or nothing) on a day before it began.
local function allowed_on(id, value, d)
  local m = defs.measures[id]
  if not m then error(sfmt("allowed_on: no measure %q", tostring(id)), 2) end
  local list = within(id, d) and m.allowed or m.allowed_before or {}
  return contains(list, value), copy(list)
end

-- unstated(ids, stated, as): the ids of the list `ids` that the table
-- `stated` does not give as `as` (default: any value), in the list's order.
-- In C for a table of ids (rules_conv.h: R3 walks 261 controls on every
-- eval, a dozen VM instructions each under the budget's count hook).
local function unstated(ids, stated, as)
  stated = type(stated) == "table" and stated or {}
  if type(ids) == "table" then return host.unstated(ids, stated, as) end
  local out = array()
  for _, id in ipairs(ids) do
    local v = stated[id]
    if v == nil or (as ~= nil and not equal(v, as)) then out[#out + 1] = id end
  end
  return out
end

-- ---------------------------------------------------------------- the sandbox

-- Only what rules need, copied so that a rule cannot change what other rules
-- see.  Not here, on purpose: load, dofile, require, io, os, debug, package,
-- collectgarbage, rawset, string.dump, math.random (rules are deterministic),
-- coroutine (no state may outlive a call), print (use emit).
local function copylib(lib, names)
  local t = {}
  for _, n in ipairs(names) do t[n] = lib[n] end
  return t
end

local sandbox = {
  assert = assert, error = error, ipairs = ipairs, pairs = pairs,
  pcall = pcall, xpcall = xpcall, select = select, tonumber = tonumber,
  tostring = tostring, type = type, rawequal = rawequal, rawlen = rawlen,
  getmetatable = getmetatable,
  -- next and rawget as Lua's, but they first read the members of an
  -- action's data still kept as text (rules_text.h, TEXT_LAZY)
  next = host.next, rawget = host.rawget,
  -- No finalizers: a __gc would run whenever the collector chooses, outside
  -- any call's budget (even while a reload closes the old state).
  setmetatable = function (t, mt)
    if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
      error("rules may not set __gc finalizers", 2)
    end
    return setmetatable(t, mt)
  end,
  _VERSION = _VERSION,
  string = copylib(string, { "byte", "char", "find", "format", "gmatch", "gsub", "len",
                             "lower", "match", "rep", "reverse", "sub", "upper" }),
  table = copylib(table, { "concat", "insert", "move", "pack", "remove", "sort", "unpack" }),
  math = copylib(math, { "abs", "ceil", "floor", "fmod", "huge", "max", "maxinteger",
                         "min", "mininteger", "modf", "tointeger", "type", "ult", "pi",
                         "sqrt", "exp", "log" }),
  utf8 = copylib(utf8, { "char", "charpattern", "codepoint", "codes", "len", "offset" }),
  -- the DSL
  pack = pack_decl, measure = measure_decl, kind = kind_decl, check = check_decl,
  action = action_decl, view = view_decl, role = role_decl, on_expiry = expiry_decl, summary = summary_decl,
  pass = pass, fail = fail, refuse = refuse, invalid = invalid, emit = emit,
  instant = instant, date = date,
  jst = function(t, ...) return jst(probe_val(t), ...) end,
  date_of = function(t, ...) return date_of(probe_val(t), ...) end,
  day_start = day_start, day_end = day_end,
  in_force = in_force, measures_in_force = measures_in_force,
  read_date = read_date, read_month = read_month, code_of = code_of,
  within = within, allowed_on = allowed_on, unstated = unstated, read_field = read_field,
  wareki = wareki, ja_date = ja_date, trim = trim, is_list = is_list, shown = shown,
  read_params = read_params, amend_fields = amend_fields,
  -- field_of(kind, path): a copy of the declaration of a kind's field (its
  -- labels for a message), or nil
  field_of = function(kind, path)
    local k = defs.kinds[kind]
    local f = k and type(path) == "string" and field_at(k.fields, path)
    return f and copy(f) or nil
  end,
  -- period_of(id, wareki_only): the days measure id is in force, { ja, en }:
  -- 「令和5年5月19日（2023年5月19日）から令和7年3月31日（2025年3月31日）まで」
  -- (wareki_only: 「令和5年5月19日から令和7年3月31日まで」) / "2023-05-19 to 2025-03-31"
  period_of = function(id, wareki_only)
    local m = defs.measures[id]
    if not m then error(sfmt("period_of: no measure %q", tostring(id)), 2) end
    local jd = wareki_only and wareki or ja_date
    local from, till = m.starts and date_of(m.starts), m.ends and date_of(m.ends - 1)
    return text((from and jd(from) .. "から" or "") .. (till and jd(till) .. "まで" or ""),
                from and till and (from .. " to " .. till) or from and ("from " .. from) or ("until " .. till))
  end,
  edit_distance = distance,   -- the closest of known names ("did you mean …")
  -- evaluate(rec, at) -> all_ok, checks: the declared checks, as eval runs them
  evaluate = function(rec, at) local checks, all = run_checks(rec, at) return all, checks end,
  measure_of = function(id) return copy(defs.measures[id]) end,   -- a copy: rules cannot move a period
  array = array, csv = csv, file = file, copy = copy, equal = equal, text = text,
  contains = contains, count = count,
}

-- Library tables are shared by every call: hand out read-only views of them.
local function readonly(t, name)
  return setmetatable({}, {
    __index = t,
    __newindex = function(_, k) error(name .. " is read-only (`" .. tostring(k) .. "`)", 2) end,
    __pairs = function() return next, t, nil end,
    __len = function() return #t end,
    __metatable = false,
  })
end
for _, lib in ipairs({ "string", "table", "math", "utf8" }) do
  sandbox[lib] = readonly(sandbox[lib], lib)
end

-- The pack's own globals live in `pack_env`; reads fall back to the sandbox.
local pack_env = setmetatable({}, { __index = sandbox })

-- After loading, globals are frozen: the same table that every loaded chunk
-- holds as _ENV becomes an empty proxy, so no call can leave state behind
-- for the next one (which would make decisions depend on call order).
local function freeze_env(env, fallback)
  local real = {}
  for k, v in next, env do real[k] = v end
  for k in next, real do env[k] = nil end
  setmetatable(real, { __index = fallback })
  setmetatable(env, {
    __index = real,
    __newindex = function(_, k)
      error("rules may not set globals after loading (`" .. tostring(k) .. "`); use a local", 2)
    end,
    -- pairs(_ENV) lists what a rule can reach: the pack's globals, then the
    -- sandbox's names (the escape tests compare it with an allow-list).
    __pairs = function()
      local phase, tbl, key = 1, real, nil
      return function()
        while true do
          local k, v = next(tbl, key)
          if k ~= nil then key = k; if phase == 1 or rawget(real, k) == nil then return k, v end
          elseif phase == 1 then phase, tbl, key = 2, fallback, nil
          else return nil end
        end
      end
    end,
    __metatable = false,
  })
end

-- ---------------------------------------------------------------- the API for C

local api = {}

function api.env() return pack_env end
function api.set_file(name) current_file = name end

-- Validates the declarations as a whole once every file is loaded.
function api.finish()
  local problems = {}
  local function problem(d, msg) problems[#problems + 1] = (d.where or "?") .. ": " .. msg end
  for _, id in ipairs(defs.action_order) do
    local a = defs.actions[id]
    local k = defs.kinds[a.kind]
    if not k then problem(a, sfmt('action "%s": no kind "%s"', id, a.kind))
    else
      for _, s in ipairs(a.from or {}) do
        if not k.state_set[s] then problem(a, sfmt('action "%s": from-state "%s" is not a state of %s', id, s, a.kind)) end
      end
      if a.to and not k.state_set[a.to] then problem(a, sfmt('action "%s": to-state "%s" is not a state of %s', id, a.to, a.kind)) end
    end
    if a.during and not defs.measures[a.during] then problem(a, sfmt('action "%s": during: no measure "%s"', id, a.during)) end
  end
  for _, id in ipairs(defs.view_order) do
    local v = defs.views[id]
    local k = defs.kinds[v.kind]
    -- a column without labels takes those of the kind's field of its id
    for i, c in ipairs(v.columns) do v.columns[i] = labelled(c, k and k.fields) end
    if not k then problem(v, sfmt('view "%s": no kind "%s"', id, v.kind))
    else for _, s in ipairs(v.states or {}) do
      if not k.state_set[s] then problem(v, sfmt('view "%s": "%s" is not a state of %s', id, s, v.kind)) end
    end end
  end
  for _, list in ipairs({ { "action", defs.action_order, defs.actions }, { "view", defs.view_order, defs.views } }) do
    for _, id in ipairs(list[2]) do
      local d = list[3][id]
      for _, r in ipairs(d.roles) do
        if r ~= "admin" and not defs.roles[r] then
          problem(d, sfmt('%s "%s": no role "%s" (declare it: role "%s" { title = ..., methods = { ... } }; the pack declares: %s)',
                          list[1], id, tostring(r), tostring(r), #defs.role_order > 0 and tconcat(defs.role_order, ", ") or "none"))
        end
      end
    end
  end
  for mid, hooks in pairs(defs.expiry) do
    for _, h in ipairs(hooks) do
      local m = defs.measures[mid]
      if not m then problem(h, sfmt('on_expiry "%s": no such measure', mid))
      elseif not m.temporary then problem(h, sfmt('on_expiry "%s": a permanent measure never expires', mid)) end
      if not defs.kinds[h.kind] then problem(h, sfmt('on_expiry "%s": no kind "%s"', mid, h.kind)) end
    end
  end
  if #defs.kind_order == 0 then problems[#problems + 1] = "the pack declares no kind" end
  if #problems > 0 then return tconcat(problems, "\n") end
  loading = false
  freeze_env(pack_env, sandbox)
  return nil
end

local function lang_list(list)
  local out = array()
  for i, v in ipairs(list or {}) do out[i] = v end
  return out
end

-- A kind's sheet as described: each column of an enumeration with its
-- values in the pack's order ({ id, ja, en }), so that an export writes the
-- label a clerk reads and an import knows it (the declaration stays as it
-- is: copies).
local function sheet_described(k)
  if k.sheet == nil then return nil end
  local out = array()
  for i, c in ipairs(k.sheet) do
    local top, sub = c.id:match("^([^.]+)%.?(.*)$")
    local f = (k.fields or {})[top]
    if f and sub ~= "" then f = f.type == "object" and f.fields and f.fields[sub] or nil end
    local d = { id = c.id, ja = c.ja, en = c.en }
    if f and f.type == "enum" then
      d.values = array()
      for j, code in ipairs(f.order) do d.values[j] = { id = code, ja = f.values[code].ja, en = f.values[code].en } end
    end
    out[i] = d
  end
  return out
end

-- What the pack declares, for rules.status, role checks and the schedule.
function api.describe()
  local d = { name = defs.pack.name, title = defs.pack.title, version_label = defs.pack.version,
              eval_by_date = defs.pack.eval_by_date or nil,
              instants_at = defs.pack.instants_at or array(),
              measures = array(), kinds = {}, actions = {}, views = {}, checks = array(),
              roles = array() }
  for _, id in ipairs(defs.role_order) do
    local r = defs.roles[id]
    d.roles[#d.roles + 1] = { id = id, title = r.title, methods = lang_list(r.methods) }
  end
  for _, id in ipairs(defs.measure_order) do
    local m = defs.measures[id]
    d.measures[#d.measures + 1] = {
      id = id, title = m.title, temporary = m.temporary,
      starts = m.starts and jst(m.starts) or nil, ends = m.ends and jst(m.ends) or nil,
      starts_at = m.starts, ends_at = m.ends,
      expiry_hooks = #(defs.expiry[id] or {}),
    }
  end
  for _, id in ipairs(defs.kind_order) do
    local k = defs.kinds[id]
    d.kinds[id] = { title = k.title, states = lang_list(k.states), id_prefix = k.id_prefix,
                    summary_fields = k.summary_fields, search_fields = k.search_fields,
                    sheet = sheet_described(k), state_titles = type(k.state_titles) == "table" and k.state_titles or nil,
                    fields = k.fields and fields_described(k.fields) or nil,
                    marking = k.marking and { ja = k.marking.ja, en = k.marking.en } or nil }
  end
  for _, id in ipairs(defs.action_order) do
    local a = defs.actions[id]
    d.actions[id] = { title = a.title, kind = a.kind, roles = lang_list(a.roles),
                      creates = a.creates and true or false, from = lang_list(a.from), to = a.to,
                      params = a.param_list }
  end
  for _, id in ipairs(defs.view_order) do
    local v = defs.views[id]
    local cols = array()
    for i, c in ipairs(v.columns) do
      cols[i] = { id = c.id, ja = c.ja, en = c.en, short = c.short, priority = c.priority }
    end
    d.views[id] = { title = v.title, kind = v.kind, roles = lang_list(v.roles),
                    states = lang_list(v.states), columns = cols,
                    marking = v.marking and { ja = v.marking.ja, en = v.marking.en } or nil }
  end
  for _, id in ipairs(defs.check_order) do
    d.checks[#d.checks + 1] = { id = id, title = defs.checks[id].title }
  end
  if next(d.kinds) == nil then d.kinds = nil end
  -- kinds, actions and views are keyed by id: the order the pack declares
  -- them in, for whoever lists them
  d.kind_order, d.action_order = array(copy(defs.kind_order)), array(copy(defs.action_order))
  d.view_order = array(copy(defs.view_order))
  return d
end

-- Errors that are not refusals become script errors carrying file:line.
local function classify(err)
  local mt = type(err) == "table" and rawmt(err)
  if mt == REFUSAL then return { refused = array(err.reasons) } end
  if mt == INVALID then return { invalid = array(err.errors) } end
  return { error = tostring(err), traceback = host.traceback(tostring(err), 2) }
end

local function handler(err)
  local mt = type(err) == "table" and rawmt(err)
  if mt == REFUSAL or mt == INVALID then return err end
  return { __script = true, message = tostring(err), traceback = host.traceback(tostring(err), 2) }
end

local function protect(fn, ...)
  local ok, a, b = xpcall(fn, handler, ...)
  if ok then return true, a, b end
  if type(a) == "table" and a.__script then
    return false, { error = a.message, traceback = a.traceback }
  end
  return false, classify(a)
end

-- changed: the set of top-level fields the action changed, or nil for a new
-- record (validate everything).
local function validate_data(kind, app, at, changed)
  -- The declared fields first; the pack's validate (rules between fields)
  -- sees only fields that are well formed.
  if kind.fields then
    local errs = schema_errors(kind, app, changed)
    if #errs > 0 then return errs end
  end
  if not kind.validate then return nil end
  local errs = array()
  local function err(field, reason, en)
    if type(reason) == "string" then reason = text(reason, en) end
    errs[#errs + 1] = { field = field, reason = reason }
  end
  kind.validate(app, err, at, changed)
  if #errs > 0 then return errs end
  return nil
end

-- Only bidi_errors is seen past this block (the main chunk's 200 locals).
local bidi_errors
do
-- Bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
-- U+061C) in UTF-8.  Refused in a record's data by default: U+202E made
-- "evil" read "live" in a CSV and an HTML list.  A kind may allow them in
-- some fields (allow_bidi), for text in Hebrew or Arabic.
local BIDI_LEAD = "[\216\226]"
local BIDI = { "\226\128[\142\143\170-\174]", "\226\129[\166-\169]", "\216\156" }
local MAX_BIDI_ERRORS = 20

-- The code point of the first bidi control in s, or nil.
local function bidi_in(s)
  if not string.find(s, BIDI_LEAD) then return nil end
  local at
  for i = 1, #BIDI do
    local j = string.find(s, BIDI[i])
    if j and (not at or j < at) then at = j end
  end
  return at and utf8.codepoint(s, at)
end

-- s with its bidi controls written \uNNNN (a field name in an error).
local function bidi_shown(s)
  if not string.find(s, BIDI_LEAD) then return s end     -- the common case
  for i = 1, #BIDI do
    s = string.gsub(s, BIDI[i], function(c) return sfmt("\\u%04X", utf8.codepoint(c)) end)
  end
  return s
end

local function bidi_allowed(allow, path)
  for i = 1, #allow do
    local p = allow[i]
    if path == p then return true end
    local c = string.sub(path, #p + 1, #p + 1)
    if (c == "." or c == "[") and string.sub(path, 1, #p) == p then return true end
  end
  return false
end

-- Adds to errs an error per string (value or field name) under v that holds
-- a bidi control, v at `path`, unless the kind allows them there.
local function bidi_walk(v, path, allow, errs)
  if #errs >= MAX_BIDI_ERRORS or bidi_allowed(allow, path) then return end
  if type(v) == "string" then
    local cp = bidi_in(v)
    if cp then
      errs[#errs + 1] = { field = path, reason = text(
        sfmt("双方向制御文字 (U+%04X) は使用できません", cp),
        sfmt("bidirectional control character U+%04X is not allowed", cp)) }
    end
  elseif type(v) == "table" then
    for k, x in next, v do
      local kp
      if math.type(k) == "integer" then
        kp = sfmt("%s[%d]", path, k - 1)       -- as JSON counts: from 0
      else
        kp = path .. "." .. bidi_shown(tostring(k))
        if type(k) == "string" and bidi_in(k) and not bidi_allowed(allow, kp) then
          bidi_walk(k, kp, allow, errs)
        end
      end
      bidi_walk(x, kp, allow, errs)
    end
  end
end

-- The errors for the bidi controls in data's fields (only those in
-- `changed` when it is given: the rest were looked at when written), or nil.
function bidi_errors(kind, data, changed)
  local errs, allow = {}, kind.allow_bidi or {}
  for k in next, changed or data do
    local v = data[k]
    local kp = bidi_shown(tostring(k))
    if type(k) == "string" and bidi_in(k) and not bidi_allowed(allow, kp) then
      bidi_walk(k, kp, allow, errs)
    end
    if v ~= nil then bidi_walk(v, kp, allow, errs) end
  end
  if #errs > 0 then return errs end
  return nil
end
end

-- The top-level fields of `after` that differ from `before`, as a set, or nil
-- when none do.
local function changed_fields(before, after)
  local changed
  for k, v in next, after do
    if not equal(v, before[k]) then changed = changed or {}; changed[k] = true end
  end
  for k in next, before do
    if after[k] == nil then changed = changed or {}; changed[k] = true end
  end
  return changed
end

local function fresh_state_event(events, from, to)
  if from ~= to then events[#events + 1] = { type = "state", from = from, to = to } end
end

-- The id a kind's key field gives a new record (id_prefix .. value), or
-- nil, { field, reason } when the value cannot name one; for a stored
-- record, only whether its key changed.
local function key_id(kind, data, creates, changed)
  local f = kind.key
  if not creates then
    if changed and changed[f] then
      return nil, { field = f, reason = text(
        sfmt("%s は記録を識別する項目のため、変更できません（新たな記録として作成してください）", f),
        sfmt("%s identifies the record and cannot change (create a new record instead)", f)) }
    end
    return nil
  end
  local v = data[f]
  if math.type(v) == "integer" then v = tostring(v) end
  if type(v) ~= "string" or #v > 48 or not v:match("^[%w][%w._-]*$") then
    return nil, { field = f, reason = text(
      sfmt("%s は、英数字で始まり、英数字・「.」・「_」・「-」からなる48文字以内で記入してください", f),
      sfmt("%s must be 1 to 48 letters, digits, '.', '_' or '-', starting with a letter or digit", f)) }
  end
  return kind.id_prefix .. v
end

-- ---------------------------------------------------------------- identities
-- The identity of a record (kind{identity}): its key, from the declared
-- fields' values normalised in C (ident.c), and its entry, which the host
-- reads with ctx.lookup and writes with the record:
--   { live = id | nil, records = { ids }, made = digest, keeps = { field = value } }
-- `true` stands for the record being created, whose id the host gives.

-- The parts of each path are kept: an action reads the identity's paths
-- of its record several times (the pack's declarations: a few, short).
local path_value = (function()
  local parts, n = {}, 0
  return function(data, path)
    local list = parts[path]
    if not list then
      list = {}
      for part in path:gmatch("[^.]+") do list[#list + 1] = part end
      if n >= 64 then parts, n = {}, 0 end
      parts[path], n = list, n + 1
    end
    local v = data
    for i = 1, #list do
      if type(v) ~= "table" then return nil end
      v = v[list[i]]
    end
    return v
  end
end)()

local function identity_values(idn, data)
  local vals = array()
  for i, f in ipairs(idn.fields) do
    local v = ""
    for _, p in ipairs(type(f) == "table" and f or { f }) do
      local x = path_value(data or {}, p)
      if (type(x) == "string" and x ~= "") or type(x) == "number" then v = x; break end
    end
    vals[i] = v
  end
  return vals
end

local function identity_fields_text(idn)
  if idn.fields_title then return idn.fields_title.en, idn.fields_title.ja end
  local names = {}
  for i, f in ipairs(idn.fields) do names[i] = type(f) == "table" and tconcat(f, "/") or f end
  return tconcat(names, ", "), tconcat(names, "、")
end

-- Shallow merge by key: what `into` has stays unless `from` has the key.
local function merge_keys(into, from)
  local out = type(into) == "table" and copy(into) or {}
  if type(from) == "table" then for k, v in pairs(from) do out[k] = copy(v) end end
  return out
end

-- Whether a row an import creates (data) holds what the live record `id`
-- holds now, amends included: every field the row gives and every field
-- of the kind's sheet the same (what the identity keeps and what the pack
-- records itself, e.g. confirmed_on, left out).  Without the record's
-- data (no ctx.data_of), the digest of the data as it was created.
local function same_as_live(kind, data, id, entry, made, ctx)
  local live = ctx.data_of and ctx.data_of(id)
  if type(live) ~= "table" then return entry.made == made end
  local keys = {}
  for k in pairs(data) do keys[k] = true end
  for _, c in ipairs(kind.sheet or {}) do keys[c.id:match("^[^.]+")] = true end
  for _, f in ipairs(kind.identity.keeps or {}) do keys[f] = nil end
  for k in pairs(keys) do
    if not equal(data[k], live[k]) then return false end
  end
  return true
end

-- The identity's values with each list of alternatives read by its last
-- (法人番号 or 事業者名: the name).  A record that has the first has this key
-- too: there it meets a record of the same thing without it, whichever
-- came first, so that what is missing never makes a second live record.
local function fallback_values(idn, data)
  local vals = identity_values(idn, data)
  for i, f in ipairs(idn.fields) do
    if type(f) == "table" and #f > 1 then
      local x = path_value(data or {}, f[#f])
      vals[i] = ((type(x) == "string" and x ~= "") or type(x) == "number") and x or ""
    end
  end
  return vals
end

-- The live record (not rec) that the same thing has under its other key:
-- at the fallback key of a record that has the first alternatives, the
-- record written without them; at the key of one without them (its own
-- fallback), a record with them (`also`).  nil when none is live.
local function fallback_live(idn, rec, fkey, entry, fentry, ctx)
  local function live_now(id)
    if id == nil or id == rec.id then return nil end
    local st = ctx.state_of and ctx.state_of(id)
    if st ~= nil and not contains(idn.live, st) then return nil end
    return id
  end
  if fkey then return fentry and live_now(fentry.live) end
  for _, id in ipairs(entry and entry.also or {}) do
    if live_now(id) then return id end
  end
  return nil
end

-- The entry at the fallback key as the record leaves it: the record in
-- `also` while it is live, and what the identity keeps copied there (a
-- record without the first alternatives starts with it).
local function fallback_entry(idn, fentry, self, live, keeps)
  local o = fentry and copy(fentry) or {}
  local also = array()
  for _, id in ipairs(o.also or {}) do if id ~= self then also[#also + 1] = id end end
  if live then also[#also + 1] = self end
  o.also = #also > 0 and also or nil
  if keeps then o.keeps = merge_keys(o.keeps, {}) for f, v in pairs(keeps) do o.keeps[f] = merge_keys(o.keeps[f], v) end end
  if o.keeps and next(o.keeps) == nil then o.keeps = nil end
  return o
end

-- A refusal when an amend changed a field of the identity (filled in where
-- it was empty, or written otherwise (width, case) is no change).
local function identity_changed(kind, idn, rec, before_data)
  local function norm(v) return host.identity_key(kind.id, { v }, idn.normalize) end
  local en_f, ja_f = identity_fields_text(idn)
  for _, f in ipairs(idn.fields) do
    for _, pth in ipairs(type(f) == "table" and f or { f }) do
      local old, now = path_value(before_data or {}, pth), path_value(rec.data, pth)
      if old ~= nil and old ~= "" and old ~= now and not equal(old, now)
         and (type(now) ~= type(old) or norm(old) ~= norm(now)) then
        return { refused = array { idn.changed and text(idn.changed.ja, idn.changed.en) or text(
          sfmt("%sを定める項目（%s）は変更できません。別の%sとする場合は、この記録を終えてから新しい記録として作成してください",
               idn.title.ja, ja_f, idn.title.ja),
          sfmt("the fields that make the %s (%s) cannot be changed: another %s is a new record",
               idn.title.en, en_f, idn.title.en)) } }
      end
    end
  end
  return nil
end

local function identity_refusal(kind, idn, a, rec, other, entry, ctx)
  local made = a.creates and host.digest(rec.data) or nil
  local dup = a.creates and same_as_live(kind, rec.data, other, entry or {}, made, ctx)
  local amend = defs.actions.amend
  if a.creates and not dup and amend and amend.kind == kind.id and not amend.creates then
    -- A row of another content: the record is changed by amend, not made again.
    return { refused = array { text(
      sfmt("この%sには有効な記録 %s があります。内容が異なるため、変更する場合は act amend %s を使用してください（同じ%sの記録は一つだけです）",
           idn.title.ja, other, other, idn.title.ja),
      sfmt("the %s already has a live record, %s; its data differ: use act amend %s to change it (a %s has one live record)",
           idn.title.en, other, other, idn.title.en)) }, identity_live = other }
  end
  return { refused = array { text(
    sfmt("この%sには有効な記録 %s があります%s。同じ%sの記録は一つだけです", idn.title.ja, other,
         dup and "（同じ内容）" or "", idn.title.ja),
    sfmt("the %s already has a live record, %s%s; a %s has one live record", idn.title.en, other,
         dup and " (with the same content)" or "", idn.title.en)) },
    identity_live = other, duplicate = dup and other or nil }
end

local function identity_step(kind, a, rec, before_data, ctx)
  local idn = kind.identity
  local vals = identity_values(idn, rec.data)
  local key, why = host.identity_key(kind.id, vals, idn.normalize)
  if not key then error("identity of " .. kind.id .. ": " .. tostring(why), 0) end
  local fkey = host.identity_key(kind.id, fallback_values(idn, rec.data), idn.normalize)
  if fkey == key then fkey = nil end
  local was_key, moved
  if not a.creates then
    local refusal = identity_changed(kind, idn, rec, before_data)
    if refusal then return nil, refusal end
    -- The same values, the same key: the key's normalisation and hash are
    -- the costly part of an amend that leaves the identity alone.
    -- (1 and 1.0 are equal, but not as text: their keys differ.)
    local was = identity_values(idn, before_data)
    local same = #was == #vals
    for i = 1, #was do same = same and was[i] == vals[i] and math.type(was[i]) == math.type(vals[i]) end
    was_key = same and key or host.identity_key(kind.id, was, idn.normalize)
    moved = was_key ~= key
  end
  local entry = ctx.lookup and ctx.lookup(key) or nil
  local fentry = fkey and ctx.lookup and ctx.lookup(fkey) or nil
  local live = contains(idn.live, rec.state)
  local other = entry and entry.live ~= nil and entry.live ~= rec.id and entry.live or nil
  -- The live record may have left its live state without an action (a
  -- deadline's expiry): then it is live no more.  Unknown: held live.
  if other and ctx.state_of then
    local st = ctx.state_of(other)
    if st ~= nil and not contains(idn.live, st) then
      other = nil
      entry.live = nil
    end
  end
  other = other or (live and fallback_live(idn, rec, fkey, entry, fentry, ctx)) or nil
  if live and other then return nil, identity_refusal(kind, idn, a, rec, other, entry, ctx) end
  local new = entry and copy(entry) or {}
  new.records = array(new.records and { table.unpack(new.records) } or {})
  new.keeps = type(new.keeps) == "table" and new.keeps or {}
  -- What the same thing kept without its first alternatives is its own.
  if a.creates and fentry and type(fentry.keeps) == "table" then
    for f, v in pairs(fentry.keeps) do new.keeps[f] = merge_keys(v, new.keeps[f]) end
  end
  local was_entry
  if moved then
    -- The record leaves the entry it was under, with what it kept.
    was_entry = ctx.lookup and ctx.lookup(was_key) or nil
    if was_entry then
      if was_entry.live == rec.id then was_entry.live = nil end
      for f, v in pairs(type(was_entry.keeps) == "table" and was_entry.keeps or {}) do
        new.keeps[f] = merge_keys(v, new.keeps[f])
      end
    end
  end
  if a.creates then
    new.records[#new.records + 1] = true
  elseif not contains(new.records, rec.id) then
    new.records[#new.records + 1] = rec.id -- written before its kind declared an identity
  end
  if a.creates then
    -- What belongs to the identity comes with it to each of its records.
    for _, f in ipairs(idn.keeps) do
      if new.keeps[f] ~= nil then rec.data[f] = merge_keys(new.keeps[f], rec.data[f]) end
    end
  end
  for _, f in ipairs(idn.keeps) do
    if type(rec.data[f]) == "table" and next(rec.data[f]) ~= nil then new.keeps[f] = merge_keys(new.keeps[f], rec.data[f]) end
  end
  if next(new.keeps) == nil then new.keeps = nil end
  local self = a.creates and true or rec.id
  if live then
    new.live = self
    if a.creates then new.made = a.creates and host.digest(rec.data) or nil end
  elseif new.live == self then
    new.live = nil
  end
  -- The other key the record writes: the one it moved from, else its
  -- fallback (when the two are one, the record moved there by gaining
  -- its first alternatives).
  local okey = (moved and was_entry) and was_key or fkey
  local oentry
  if okey then
    oentry = fallback_entry(idn, okey == was_key and was_entry or fentry, self, live and okey == fkey, okey == fkey and new.keeps)
    if okey ~= was_key and equal(oentry, fentry or {}) then okey, oentry = nil, nil end
  end
  if not a.creates and not moved and not okey and equal(new, entry) then return nil end
  return { key = key, entry = new, was_key = okey, was_entry = oentry }
end

-- act(action, rec|nil, params, ctx, before) -> { record, events } |
-- { refused } | { invalid } | { error }.  ctx = { at, role, user }.
-- The refusal of action `a` outside the measure it needs in force (`during`),
-- with that measure's period: "cannot register an application: Special
-- measure is not in force (2023-05-19 to 2025-03-31)".
local function not_during(a)
  local m = defs.measures[a.during]
  local title, period = m.title or text(m.id, m.id), sandbox.period_of(a.during)
  local what = a.title.en:match("^%u%l") and a.title.en:sub(1, 1):lower() .. a.title.en:sub(2) or a.title.en
  return text(title.ja .. "の期間外のため、" .. a.title.ja .. "はできません。期間は" .. period.ja .. "です",
              "cannot " .. what .. ": " .. title.en .. " is not in force (" .. period.en .. ")")
end

-- `before`: a copy of rec.data the host built as it read the record
-- (rules_text.h), or nil: act copies rec.data itself.
local function act(name, rec, params, ctx, before)
  local a = defs.actions[name]
  if not a then
    return { invalid = array { { field = "action", reason = text(
      "アクション「" .. tostring(name) .. "」はありません", "no action `" .. tostring(name) .. "`") } } }
  end
  if type(params) ~= "table" then params = {} end
  local at = ctx.at
  local kind = defs.kinds[a.kind]
  local before_data, before_state
  if a.creates then
    if rec ~= nil then
      return { invalid = array { { field = "id", reason = text(
        "「" .. name .. "」は新しい記録を作るため id は指定できません",
        "`" .. name .. "` creates a record: give no id") } } }
    end
    rec = { kind = a.kind, data = copy(params) }
  else
    if rec == nil then
      return { invalid = array { { field = "id", reason = text(
        "「" .. name .. "」には id が必要です", "`" .. name .. "` needs the id of a record") } } }
    end
    if rec.kind ~= a.kind then
      return { refused = array { text(
        sfmt("「%s」は %s に対するアクションです（この記録は %s）", name, a.kind, tostring(rec.kind)),
        sfmt("`%s` applies to %s records, not %s", name, a.kind, tostring(rec.kind))) } }
    end
    if not contains(a.from, rec.state) then
      -- In words where the kind names its states (state_titles), by code otherwise.
      local titles = type(kind.state_titles) == "table" and kind.state_titles or {}
      local function st(s, lang) return type(titles[s]) == "table" and titles[s][lang] or s end
      local ja, en = {}, {}
      for i, s in ipairs(a.from) do ja[i], en[i] = st(s, "ja"), st(s, "en") end
      return { refused = array { text(
        sfmt("「%s」は、状態が「%s」の記録にはできません（できる状態: %s）", a.title.ja, st(rec.state, "ja"), tconcat(ja, "、")),
        kind.state_titles == nil
          and sfmt("`%s` is not allowed in state `%s` (allowed in: %s)", name, rec.state, tconcat(a.from, ", "))
          or sfmt("“%s” is not allowed in state “%s” (allowed in: %s)", a.title.en, st(rec.state, "en"), tconcat(en, ", "))) } }
    end
    before_data, before_state = before or copy(rec.data), rec.state
  end
  if a.during and not in_force(a.during, at) then return { refused = array { not_during(a) } } end
  local data0 = rec.data
  if type(rec.data) ~= "table" then rec.data = {} end
  local events = array()
  call_events, call_count = events, ctx.count
  local t0 = clock_us()
  local ok, res = protect(function()
    local app = rec.data
    running_action = a
    if a.run then a.run(app, params, at, rec) end
    return nil
  end)
  running_action = nil
  call_events, call_count = nil, nil
  counted("action", name, ok and true or res.refused ~= nil, t0)
  if not ok then return res end
  -- Members of data the host left as text until read (rules_text.h) are
  -- unchanged while data is; data replaced, they are read now so that
  -- their removal is seen.
  if not rawequal(rec.data, data0) then lazy_force(data0) end
  if rec.state == before_state or rec.state == nil then rec.state = a.to or before_state end
  if not kind.state_set[rec.state] then
    return { error = sfmt('%s: action "%s" left the record in unknown state "%s"', a.where, name, tostring(rec.state)) }
  end
  -- Only what changed is validated: the rest was validated when it was
  -- written (docs/RULES.md, `validate`).
  local changed = not a.creates and changed_fields(before_data, rec.data)
  if a.creates or changed then
    local vok, errs = protect(validate_data, kind, rec.data, at, changed or nil)
    if not vok then return errs end
    -- The core's own check, whatever the pack's validate does.
    local berrs = bidi_errors(kind, rec.data, changed or nil)
    if berrs then
      errs = errs or array()
      for i = 1, #berrs do errs[#errs + 1] = berrs[i] end
    end
    if errs then return { invalid = errs } end
  end
  local rid
  if kind.key then
    local kerr
    rid, kerr = key_id(kind, rec.data, a.creates, changed)
    if kerr then return { invalid = array { kerr } } end
  end
  local identity
  if kind.identity then
    local refusal
    identity, refusal = identity_step(kind, a, rec, before_data, ctx)
    if refusal then return refusal end
  end
  fresh_state_event(events, before_state, rec.state)
  local res = { record = { kind = rec.kind, state = rec.state, data = rec.data, id = rid }, events = events,
                key = rid and kind.key or nil, identity = identity }
  if not a.creates then
    -- Fields still as they were: the host keeps its own copy of them rather
    -- than converting them back.  Compared again after validation, which may
    -- have normalised any; when nothing changed, validation did not run and
    -- every field is as it was.
    local kept = array()
    for k, v in next, rec.data do
      if not changed or (not changed[k] and equal(v, before_data[k])) then kept[#kept + 1] = k end
    end
    res.kept = kept
  end
  return res
end

-- The host's entry: as act, less the kept fields, which the host takes from
-- the record it passed in (rules.c, rules_act).  A kept field holds no
-- more than the record had, so nothing is lost; the conversion of a full
-- application back to JSON was a tenth of an amend.
function api.act(name, rec, params, ctx, before)
  local res = act(name, rec, params, ctx, before)
  local kept = res.kept
  if kept then
    local data = res.record.data
    for i = 1, #kept do data[kept[i]] = nil end
    -- and the members no rule read, still text: kept as written
    local unread = lazy_detach(data)
    if unread then for i = 1, #unread do kept[#kept + 1] = unread[i] end end
  end
  return res
end

-- The checks of an application, in declaration order.
function run_checks(rec, at)
  local results, all = array(), true
  for _, id in ipairs(defs.check_order) do
    local c = defs.checks[id]
    local t0 = clock_us()
    local cok, r = pcall(c.fn, rec.data or {}, at, rec)
    counted("check", id, cok, t0)
    if not cok then error(r, 0) end
    local entry
    if r == PASS or r == true then
      entry = { id = id, ok = true, reason = text("満たしています", "met") }
    elseif rawmt(r) == PASS_MT then
      entry = { id = id, ok = true, reason = r.reason }
    elseif rawmt(r) == FAIL_MT then
      entry = { id = id, ok = false, reason = r.reason }
      all = false
    else
      error(sfmt("%s: check %s must return pass() or fail{...}, not %s", c.where, id, tostring(r)), 0)
    end
    results[#results + 1] = entry
  end
  return results, all
end

-- eval(rec, at) -> { decision, checks, measures_in_force, <summaries> } | { error }
function api.eval(rec, at)
  local ok, res = protect(function()
    local checks, all = run_checks(rec, at)
    local out = {
      decision = all and "eligible" or "ineligible",
      checks = checks,
      measures_in_force = measures_in_force(at),
      at = jst(at),
    }
    for _, id in ipairs(defs.summary_order) do
      out[id] = defs.summaries[id](rec.data or {}, at, rec)
    end
    return out
  end)
  if not ok then return res end
  return res
end

-- A record's summary for people (record.get with summary): the lines its
-- kind's `summary` returns, or { none = true } when the kind has none.
function api.summary(rec, at)
  local k = defs.kinds[rec.kind]
  if not k or not k.summary then return { none = true } end
  local ok, res = protect(function() return k.summary(rec.data or {}, at, rec) end)
  if not ok then return res end
  return { lines = array(res) }
end

-- A view's row for one record, or nil to leave the record out.
function api.view_row(name, rec, params, at)
  local v = defs.views[name]
  local t0 = clock_us()
  local ok, res = protect(function() return v.row(rec.data or {}, rec, params or {}, at) end)
  counted("view", name, ok, t0)
  if not ok then return res end
  if res == nil then return { skip = true } end
  -- A cell given as { ja = …, en = … } is written in the language asked
  -- (params.lang "ja" or "en"), else as "ja / en" (one when they agree).
  local lang = type(params) == "table" and params.lang
  if type(res) == "table" then
    for k, c in next, res do
      if is_text(c) then
        res[k] = (lang == "ja" or lang == "en") and c[lang] or c.ja == c.en and c.ja or c.ja .. " / " .. c.en
      end
    end
  end
  return { row = res }
end

-- The pack's deadlines: the end of every temporary measure that has expiry
-- hooks or not (the core records each crossing), in time order.
function api.deadlines()
  local out = array()
  for _, id in ipairs(defs.measure_order) do
    local m = defs.measures[id]
    if m.temporary and m.ends then
      local kinds, states = array(), {}
      for _, h in ipairs(defs.expiry[id] or {}) do
        kinds[#kinds + 1] = { kind = h.kind, states = lang_list(h.states) }
      end
      out[#out + 1] = { measure = id, at = m.ends, hooks = kinds }
    end
  end
  for i, d in ipairs(out) do d.order = i end
  tsort(out, function(x, y) if x.at ~= y.at then return x.at < y.at end return x.order < y.order end)
  for _, d in ipairs(out) do d.order = nil end
  return out
end

-- Runs the expiry hooks of measure `mid` on one record.  Returns
-- { record, events } (record nil when nothing applies) or { error }.
function api.expire(mid, rec, at)
  local hooks = defs.expiry[mid] or {}
  local events = array()
  local before_state, before_data = rec.state, copy(rec.data)
  local applied = false
  call_events = events
  local t0 = clock_us()
  local ok, res = protect(function()
    for _, h in ipairs(hooks) do
      if h.kind == rec.kind and (h.states == nil or contains(h.states, rec.state)) then
        applied = true
        h.run(rec.data, at, rec)
      end
    end
  end)
  call_events = nil
  if applied or not ok then counted("hook", mid, ok, t0) end
  if not ok then return res end
  if not applied then return {} end
  local kind = defs.kinds[rec.kind]
  if not kind.state_set[rec.state] then
    return { error = sfmt('on_expiry "%s" left the record in unknown state "%s"', mid, tostring(rec.state)) }
  end
  if rec.state == before_state and equal(before_data, rec.data) and #events == 0 then return {} end
  fresh_state_event(events, before_state, rec.state)
  events[#events + 1] = { type = "expired", measure = mid }
  return { record = { kind = rec.kind, state = rec.state, data = rec.data }, events = events }
end

function api.view_exists(name) return defs.views[name] ~= nil end

function api.stats() return counters end
-- The pack's own tests call rules too; what counts is what they do live.
function api.reset_stats() counters = { check = {}, action = {}, hook = {}, view = {} } end

-- ---------------------------------------------------------------- pack tests

-- case "name" { at = ..., record = {...} | data = {...}, state = ...,
--               expect = "eligible", fails = {"R2"}, reasons = { R3 = "text" } }
-- scenario "name" { at = ..., steps... }  (see docs/RULES.md)
local function test_decl(kind_name)
  return function(name)
    return function(spec)
      if type(spec) ~= "table" then error(kind_name .. ' "' .. tostring(name) .. '" needs a table', 2) end
      defs.tests[#defs.tests + 1] = { kind = kind_name, name = tostring(name), spec = spec, where = where(3) }
    end
  end
end

-- strict(t, known, what) -> t: reading or clearing (setting to nil) a key
-- of t that is not in `known` (a list, or a set) is an error naming it;
-- adding one is allowed (a test that the pack refuses an unknown id).  For
-- the ids a pack's test helpers take that the core cannot know (a control
-- of a statement): clearing an id that does not exist would otherwise
-- change nothing, and the test would pass without testing what it says.
local function strict(t, known, what)
  if type(t) ~= "table" or rawmt(t) ~= nil then error("strict(t, known, what): t must be a plain table", 2) end
  if type(known) ~= "table" then error("strict(t, known, what): known must be a list or a set of keys", 2) end
  local set, names = {}, {}
  for k, v in pairs(known) do
    local key = math.type(k) == "integer" and v or k
    if not set[key] then set[key] = true; names[#names + 1] = tostring(key) end
  end
  tsort(names)
  what = type(what) == "string" and what or "key"
  local sample = tconcat(names, ", ", 1, math.min(#names, 3))
  local function unknown(k)
    error(sfmt("no %s `%s` (%d declared, such as %s)", what, tostring(k), #names, sample), 3)
  end
  return setmetatable(t, {
    __index = function(_, k) if not set[k] then unknown(k) end return nil end,
    __newindex = function(tt, k, v) if v == nil and not set[k] then unknown(k) end rawset(tt, k, v) end,
  })
end

local test_env
function api.test_env()
  if not test_env then
    local base = setmetatable({ case = test_decl("case"), scenario = test_decl("scenario"), strict = strict },
                              { __index = pack_env })
    test_env = base
  end
  return test_env
end

function api.test_count() return #defs.tests end

local function fmt_reason(r)
  if type(r) ~= "table" then return tostring(r) end
  if r.reason then r = r.reason end
  -- a language the reason lacks is said so, not written "nil"
  return sfmt("%s / %s", r.en ~= nil and tostring(r.en) or "(no English reason)",
              r.ja ~= nil and tostring(r.ja) or "（日本語の理由なし）")
end

local function reasons_text(list)
  local out = {}
  for _, r in ipairs(list or {}) do
    if r.field then out[#out + 1] = r.field .. ": " .. fmt_reason(r.reason)
    else out[#out + 1] = fmt_reason(r) end
  end
  return tconcat(out, "; ")
end


-- The instants the pack declares where an outcome may change: every start
-- and end of a measure (a temporary measure's end is its deadline) and the
-- pack's own `instants`, sorted, each once.
local function declared_bounds()
  local seen, out = {}, {}
  local function add(b) if b and not seen[b] then seen[b] = true; out[#out + 1] = b end end
  for _, id in ipairs(defs.measure_order) do
    add(defs.measures[id].starts); add(defs.measures[id].ends)
  end
  for _, b in ipairs(defs.pack.instants_at or {}) do add(b) end
  tsort(out)
  return out
end

-- The span of instants around `at` over which a pack that declares
-- eval_by_date promises the same eval (but for `at` itself): the JST day of
-- `at`, cut at every declared bound.  The daemon memoises eval over this
-- span (rules.c, rules_eval_span, computes the same span).
local function date_span(at, bounds)
  local from = (at + 32400) // 86400 * 86400 - 32400
  local till = from + 86400
  for _, b in ipairs(bounds) do
    if b <= at and b > from then from = b end
    if b > at and b < till then till = b end
  end
  return from, till
end

-- Times of day the pack's files write ("12:15", "12:45:30"), as seconds
-- after midnight JST, sorted: a rule that compares the text of jst(at) with
-- one changes its outcome there, and no instant marks it.  The self-check
-- looks at each side of each, in every span it checks (api.note_source).
local written_times, MAX_WRITTEN = {}, 64

-- Notes the times of day in the text of one of the pack's files (called
-- before the file runs).
function api.note_source(src)
  local seen = {}
  for _, t in ipairs(written_times) do seen[t] = true end
  src = tostring(src)
  local pos = 1
  while true do
    local i, j, h, m = src:find("(%d%d):(%d%d)", pos)
    if not i then break end
    pos = j + 1
    local sec = src:sub(j + 1, j + 3):match("^:(%d%d)")
    if sec and src:sub(j + 4, j + 4):match("%d") then sec = nil end
    local t = tonumber(h) * 3600 + tonumber(m) * 60 + (sec and tonumber(sec) or 0)
    if tonumber(h) < 24 and tonumber(m) < 60 and (not sec or tonumber(sec) < 60)
       and not seen[t] and #written_times < MAX_WRITTEN then
      seen[t] = true
      written_times[#written_times + 1] = t
    end
  end
  tsort(written_times)
  return true
end

-- What the self-check compared, for the report (api.test_selfcheck).
local selfcheck = { evals = 0, made = {}, bounds = nil }
local MAX_MADE = 16                -- instants a rule made, per eval, looked at

-- The instants at which the self-check compares eval of a record judged at
-- `at`: `at`, the first and last instant of its span and every JST hour in
-- it (a time of day computed from `at` is seen nowhere else), each side of
-- every declared bound (and the last instant of the span it starts), and
-- each side of every instant the rules made from text while judging it.
local function selfcheck_instants(at, bounds, made)
  local list, seen = {}, {}
  local function add(t) if not seen[t] then seen[t] = true; list[#list + 1] = t end end
  local from, till = date_span(at, bounds)
  add(at); add(from); add(till - 1)
  local h = ((from + 32400) // 3600 + 1) * 3600 - 32400
  while h < till do add(h); h = h + 3600 end
  for _, b in ipairs(bounds) do
    local _, t2 = date_span(b, bounds)
    add(b - 1); add(b); add(t2 - 1)
  end
  local day = (from + 32400) // 86400 * 86400 - 32400
  for _, tod in ipairs(written_times) do
    local t = day + tod
    if t > from and t < till then add(t - 1); add(t) end
  end
  local n, mine = 0, {}
  for _, b in ipairs(made) do
    if not mine[b] and n < MAX_MADE then
      n = n + 1; mine[b] = true; selfcheck.made[b] = true
      add(b - 1); add(b)
    end
  end
  tsort(list)
  return list
end

-- Where the comparison p (a function of the instant) changes its outcome
-- between two of `points`: narrowed to the second, added to out once.
local function change_points(p, points, seen, out)
  local function at_t(t) local ok, v = pcall(p, t) return ok and v end
  local prev = at_t(points[1])
  for i = 2, #points do
    local cur = at_t(points[i])
    if cur ~= prev then
      local lo, hi = points[i - 1], points[i]     -- at_t(lo) ~= at_t(hi)
      while hi - lo > 1 do
        local mid = (lo + hi) // 2
        if at_t(mid) == prev then lo = mid else hi = mid end
      end
      if not seen[hi] then seen[hi] = true; out[#out + 1] = hi end
    end
    prev = cur
  end
end

-- The instants in [from, till) where a comparison a check made with the
-- probe changes its outcome: each looked at every hour of the span and,
-- between two that differ, narrowed to the second.  The checks run with the
-- probe at `at`, then at each instant found (a comparison that an `and`
-- skipped at `at` may run there), a few times at most.
local MAX_PROBE_RUNS = 8
local function probe_instants(rec, at, from, till)
  local out, seen = {}, {}
  local points = { from }
  local h = ((from + 32400) // 3600 + 1) * 3600 - 32400
  while h < till do points[#points + 1] = h; h = h + 3600 end
  points[#points + 1] = till - 1
  local runs, next_run = 0, 0
  local t0 = at
  while t0 and runs < MAX_PROBE_RUNS do
    runs = runs + 1
    local log = {}
    for _, id in ipairs(defs.check_order) do
      probe_log = log
      pcall(defs.checks[id].fn, copy(rec.data or {}), probe(function(t) return t end, t0), copy(rec))
      probe_log = nil
    end
    for _, p in ipairs(log) do change_points(p, points, seen, out) end
    next_run = next_run + 1
    t0 = out[next_run]
  end
  return out
end

-- For a pack that declares eval_by_date, the daemon keeps eval's answer for
-- a whole span and answers any instant of it with it, while an action that
-- calls evaluate() judges at its own instant.  So: does eval give the same
-- answer at every instant where an outcome may change (selfcheck_instants)
-- as at the first instant of that instant's span, and whatever the record's
-- updated_at (staged enforcement computes the answer for a version before the
-- time of its write is known)?  Every eval of the pack's tests is checked, so
-- the declaration is tested, not trusted.  Returns nil or what differs.
local function eval_by_date_differs(rec, at, res)
  if not defs.pack.eval_by_date or res.error then return nil end
  local bounds = selfcheck.bounds or declared_bounds()
  selfcheck.bounds = bounds
  selfcheck.evals = selfcheck.evals + 1
  made_instants = {}
  local again = api.eval(rec, at)
  local made = made_instants
  made_instants = nil
  -- and where a comparison with `at` itself changes, within the span
  local from, till = date_span(at, bounds)
  for _, t in ipairs(probe_instants(rec, at, from, till)) do made[#made + 1] = t end
  local answers = { [at] = res }
  local function answer(t)
    if not answers[t] then answers[t] = api.eval(rec, t) end
    return answers[t]
  end
  if not equal(again, res) then
    return "eval_by_date: eval of the same record at the same instant answered twice differently"
  end
  for _, t in ipairs(selfcheck_instants(at, bounds, made)) do
    local f = date_span(t, bounds)
    local here, first = copy(answer(t)), answer(f)
    for _, a in ipairs({ { t, here }, { f, first } }) do
      if a[2].error then return sfmt("eval_by_date: eval at %s fails: %s", jst(a[1]), a[2].error) end
    end
    here.at = first.at
    if not equal(here, first) then
      return sfmt("eval_by_date: eval at %s differs from eval at %s, in the same span (no measure starts " ..
                  "or ends and no instant of pack { instants } lies between them), where the daemon gives one " ..
                  "answer: this pack's eval depends on the time of day; declare the instant in " ..
                  "pack { instants = { ... } }, or remove eval_by_date from pack {}", jst(t), jst(f))
    end
  end
  local moved = copy(rec)
  moved.updated_at = rec.updated_at == "1999-12-31T00:00:00+09:00" and "2000-01-01T00:00:00+09:00"
                     or "1999-12-31T00:00:00+09:00"
  local other = api.eval(moved, at)
  if not equal(other, res) then
    return "eval_by_date: eval depends on the record's updated_at: " ..
           "remove eval_by_date from pack {}, or do not read updated_at in eval"
  end
  return nil
end

-- What the self-check compared, in words, for the end of `liud test`; nil
-- when the pack does not declare eval_by_date or no test evaluated.
function api.test_selfcheck()
  if selfcheck.evals == 0 then return nil end
  local bounds, made = {}, {}
  for _, b in ipairs(selfcheck.bounds) do bounds[#bounds + 1] = jst(b) end
  for b in pairs(selfcheck.made) do made[#made + 1] = b end
  tsort(made)
  local shown = {}
  for i = 1, math.min(#made, 10) do shown[i] = jst(made[i]) end
  if #made > 10 then shown[#shown + 1] = sfmt("and %d more", #made - 10) end
  local tods = {}
  for _, t in ipairs(written_times) do
    tods[#tods + 1] = t % 60 == 0 and sfmt("%02d:%02d", t // 3600, t // 60 % 60)
                      or sfmt("%02d:%02d:%02d", t // 3600, t // 60 % 60, t % 60)
  end
  return sfmt("eval_by_date: %d evals of the tests compared with eval at the first instant of their span, " ..
              "at: the instant itself, the span's last instant, every hour (JST) of the span, each side of %s, " ..
              "each side of the times of day the pack's files write (JST): %s, " ..
              "and each side of the instants the rules made or compared the time with: %s",
              selfcheck.evals, #bounds > 0 and tconcat(bounds, ", ") or "no declared instant",
              #tods > 0 and tconcat(tods, ", ") or "none",
              #shown > 0 and tconcat(shown, ", ") or "none")
end

-- ---- what a test may say: unknown keys and undeclared ids are errors, so
-- that a misspelt key never turns a test into one that asserts nothing.

-- One table, not six locals: the main chunk may hold 200.
local TK = {
  CASE = { "at", "kind", "state", "data", "record", "expect", "fails", "reasons",
           "in_force", "not_in_force", "summary" },
  CASE_ASSERTS = { "expect", "fails", "reasons", "in_force", "not_in_force", "summary" },
  SCENARIO = { "at" },
  STEP = { "at", "act", "as", "id", "params", "expect", "reason", "field", "enforce",
           "state", "eval", "check", "view", "rows", "rows_check" },
  ACT_OUTCOMES = { "ok", "refused", "invalid", "forbidden" },
  DECISIONS = { "eligible", "ineligible" },
}

local function spec_error(fmt, ...) error(sfmt(fmt, ...), 0) end

-- Every key of t is in `keys` (integer keys too when `steps`).
local function known_keys(t, keys, what, prefix, steps)
  for k in next, t do
    if not (steps and math.type(k) == "integer") and not contains(keys, k) then
      spec_error("%sunknown key `%s` (%s takes: %s)", prefix, tostring(k), what, tconcat(keys, ", "))
    end
  end
end

-- `id` is declared in store (else an error listing what the pack declares).
local function declared(id, store, order, what, prefix)
  if type(id) ~= "string" or not store[id] then
    spec_error("%sno %s `%s` (the pack declares: %s)", prefix, what, tostring(id),
               #order > 0 and tconcat(order, ", ") or "none")
  end
end

local function one_of(v, list, prefix)
  if not contains(list, v) then
    spec_error("%s`%s` is not one of %s", prefix, tostring(v), tconcat(list, ", "))
  end
end

local function known_state(kind_id, state, prefix)
  local k = defs.kinds[kind_id]
  if k and not k.state_set[state] then
    spec_error("%s`%s` is not a state of %s (its states: %s)", prefix, tostring(state), kind_id, tconcat(k.states, ", "))
  end
end

-- The roles a test may act as: admin and the roles the pack declares.
local function known_roles()
  local out = { "admin" }
  for _, r in ipairs(defs.role_order) do out[#out + 1] = r end
  return out
end

local function validate_case(s)
  known_keys(s, TK.CASE, "a case", "")
  local asserts = false
  for _, k in ipairs(TK.CASE_ASSERTS) do if s[k] ~= nil then asserts = true end end
  if not asserts then
    spec_error("the case asserts nothing: give it one of %s", tconcat(TK.CASE_ASSERTS, ", "))
  end
  local kind = s.record and s.record.kind or s.kind
  if kind ~= nil then declared(kind, defs.kinds, defs.kind_order, "kind", "kind: ") end
  local state = s.record and s.record.state or s.state
  if state ~= nil then known_state(kind or defs.kind_order[1], state, "state: ") end
  if s.expect ~= nil then one_of(s.expect, TK.DECISIONS, "expect: ") end
  for _, c in ipairs(s.fails or {}) do declared(c, defs.checks, defs.check_order, "check", "fails: ") end
  for c in pairs(s.reasons or {}) do declared(c, defs.checks, defs.check_order, "check", "reasons: ") end
  for _, key in ipairs({ "in_force", "not_in_force" }) do
    for _, m in ipairs(s[key] or {}) do declared(m, defs.measures, defs.measure_order, "measure", key .. ": ") end
  end
end

-- One step of a scenario, before it runs; `records` are the scenario's so
-- far.
local function validate_step(step, label, records)
  local prefix = label .. ": "
  if type(step) ~= "table" then spec_error("%sa step is a table { act = ..., ... }, not %s", prefix, type(step)) end
  known_keys(step, TK.STEP, "a step", prefix)
  if step.act ~= nil then declared(step.act, defs.actions, defs.action_order, "action", prefix .. "act: ") end
  if step.view ~= nil then declared(step.view, defs.views, defs.view_order, "view", prefix .. "view: ") end
  if step.as ~= nil then
    local roles = known_roles()
    if not contains(roles, step.as) then
      spec_error("%sas: no role `%s` (admin and the roles the pack declares: %s)", prefix, tostring(step.as), tconcat(roles, ", "))
    end
  end
  local a = step.act and defs.actions[step.act]
  if step.id ~= nil and not (a and a.creates) and not records[step.id] then
    local ids = {}
    for id in pairs(records) do ids[#ids + 1] = tostring(id) end
    tsort(ids)
    spec_error("%sid: no record `%s` in this scenario (its records: %s)", prefix, tostring(step.id),
               #ids > 0 and tconcat(ids, ", ") or "none yet")
  end
  if step.expect ~= nil then
    one_of(step.expect, step.act and TK.ACT_OUTCOMES or { "ok", "forbidden" }, prefix .. "expect: ")
    if not step.act and not step.view then spec_error("%sexpect: only with act or view", prefix) end
  end
  for _, k in ipairs({ "reason", "field" }) do
    if step[k] ~= nil and not step.act then spec_error("%s%s: only with act", prefix, k) end
  end
  if step.params ~= nil and not step.act and not step.view then spec_error("%sparams: only with act or view", prefix) end
  for _, k in ipairs({ "rows", "rows_check" }) do
    if step[k] ~= nil and not step.view then spec_error("%s%s: only with view", prefix, k) end
  end
  if step.enforce ~= nil and step.enforce ~= true then spec_error("%senforce: true or nothing", prefix) end
  if step.eval ~= nil then one_of(step.eval, TK.DECISIONS, prefix .. "eval: ") end
  for _, k in ipairs({ "check", "rows_check" }) do
    if step[k] ~= nil and type(step[k]) ~= "function" then spec_error("%s%s: a function", prefix, k) end
  end
  if step.state ~= nil and a then known_state(a.kind, step.state, prefix .. "state: ") end
end

-- Whether a step asserts something that could fail.
local function step_asserts(step)
  return type(step) == "table" and (step.act ~= nil or step.state ~= nil or step.eval ~= nil or step.check ~= nil
         or (step.view ~= nil and (step.rows ~= nil or step.rows_check ~= nil or step.expect ~= nil)))
end

-- The record a step names (`id`, default the last one), or an error in words.
local function step_record(records, id, label, what)
  local r = records[id]
  if r then return r end
  if id == nil then
    local creating = {}
    for _, aid in ipairs(defs.action_order) do if defs.actions[aid].creates then creating[#creating + 1] = aid end end
    spec_error("%s: %s: no record yet: a step that acts with a creating action (%s) comes first", label, what,
               #creating > 0 and tconcat(creating, ", ") or "the pack has none")
  end
  spec_error("%s: %s: no record `%s` in this scenario", label, what, tostring(id))
end

local function check_case(t)
  local s = t.spec
  validate_case(s)
  local at = must_instant(s.at or "2024-01-01", "case at")
  local rec = s.record and copy(s.record) or { kind = s.kind or defs.kind_order[1], state = s.state or "submitted", data = copy(s.data or {}) }
  rec.kind = rec.kind or defs.kind_order[1]
  local res = api.eval(rec, at)
  if res.error then return false, res.error end
  local diag = {}
  local differs = eval_by_date_differs(rec, at, res)
  if differs then diag[#diag + 1] = differs end
  if s.expect and res.decision ~= s.expect then
    diag[#diag + 1] = sfmt("decision: got %s, want %s", res.decision, s.expect)
  end
  local failing = {}
  for _, c in ipairs(res.checks) do if not c.ok then failing[#failing + 1] = c.id end end
  if s.fails then
    local want = copy(s.fails); tsort(want)
    local got = copy(failing); tsort(got)
    if tconcat(want, ",") ~= tconcat(got, ",") then
      diag[#diag + 1] = sfmt("failing checks: got {%s}, want {%s}", tconcat(got, ","), tconcat(want, ","))
    end
  end
  for cid, needle in pairs(s.reasons or {}) do
    local found = false
    for _, c in ipairs(res.checks) do
      if c.id == cid then
        local hay = c.reason.ja .. "\n" .. c.reason.en
        found = hay:find(needle, 1, true) ~= nil
        if not found then diag[#diag + 1] = sfmt("reason of %s lacks %q: %s", cid, needle, fmt_reason(c.reason)) end
      end
    end
  end
  for _, m in ipairs(s.in_force or {}) do
    if not contains(res.measures_in_force, m) then diag[#diag + 1] = "measure not in force: " .. m end
  end
  for _, m in ipairs(s.not_in_force or {}) do
    if contains(res.measures_in_force, m) then diag[#diag + 1] = "measure in force: " .. m end
  end
  if s.summary then
    local ok, msg = pcall(s.summary, res)
    if not ok then diag[#diag + 1] = "summary check: " .. tostring(msg)
    elseif msg == false then diag[#diag + 1] = "summary check returned false"
    elseif msg == nil then diag[#diag + 1] = "summary check returned nothing (end it with return ...: true when it holds)" end
  end
  if #diag > 0 then return false, tconcat(diag, "\n") end
  return true
end

local function role_allows(roles, role)
  return role == "admin" or contains(roles, role)
end

-- The refusal of a new record whose key names one that exists (the daemon
-- says the same: rpc_records.c, act_keyed).
local function key_taken(field, value, id)
  return text(sfmt("%s が「%s」の記録は既にあります（%s）", tostring(field), tostring(value), id),
              sfmt("a record with %s %s already exists (%s)", tostring(field), tostring(value), id))
end

-- A scenario runs steps against an in-memory set of records, as the daemon
-- would: acts (with their role checks), evals, expiry at deadlines, views.
local function check_scenario(t)
  local s = t.spec
  known_keys(s, TK.SCENARIO, "a scenario", "", true)
  local asserts = false
  for _, step in ipairs(s) do asserts = asserts or step_asserts(step) end
  if not asserts then
    spec_error("the scenario asserts nothing: give it a step with act, state, eval, check, or view with rows")
  end
  local at = must_instant(s.at or "2024-01-01", "scenario at")
  local records, order, current = {}, {}, nil
  -- Identities' entries, as the daemon keeps them in its metadata.
  local identities = {}
  local function lookup(k) return identities[k] and copy(identities[k]) or nil end
  local function state_of(id) return records[id] and records[id].state or nil end
  local enforced = {}
  -- count() in the scenario's actions: its records, as the daemon counts
  -- the stored ones.
  local function scenario_count(kind_id, st)
    local n = 0
    for _, id in ipairs(order) do
      if records[id].kind == kind_id and records[id].state == st then n = n + 1 end
    end
    return n
  end
  local seq = 0
  for i, step in ipairs(s) do
    local label = sfmt("step %d", i)
    validate_step(step, label, records)
    if step.at then at = must_instant(step.at, label .. " at") end
    if step.act then
      local role = step.as or "admin"
      local a = defs.actions[step.act]
      local rec = nil
      if not a.creates then rec = copy(step_record(records, step.id or current, label, "act")) end
      local res
      if a and not role_allows(a.roles, role) then
        res = { forbidden = true }
      else
        -- The record as the daemon gives a stored one: read from its JSON,
        -- data's objects and arrays when a rule touches them (rules_text.h).
        local before
        if rec ~= nil then rec, before = as_stored(rec) end
        res = act(step.act, rec, copy(step.params or {}), { at = at, role = role, count = scenario_count, lookup = lookup, state_of = state_of }, before)
        if res.record and before then lazy_force(res.record.data); lazy_detach(res.record.data) end
        local rid = res.record and res.record.id
        if rid and records[rid] then res = { refused = array { key_taken(res.key, res.record.data[res.key], rid) } } end
      end
      local outcome = res.record and "ok" or res.refused and "refused" or res.invalid and "invalid"
                      or res.forbidden and "forbidden" or "error"
      local want = step.expect or "ok"
      if outcome ~= want then
        return false, sfmt("%s (%s): got %s, want %s%s", label, step.act, outcome, want,
          res.error and (": " .. res.error) or (res.refused or res.invalid) and (": " .. reasons_text(res.refused or res.invalid)) or "")
      end
      -- Lua's nil is no word for a reader of a reason: a pack that writes
      -- tostring(p.x) of a param not given would show it.  Every refused or
      -- invalid step of every pack test is looked at.
      if res.refused or res.invalid then
        local hay = reasons_text(res.refused or res.invalid)
        if hay:find("%f[%w_]nil%f[^%w_]") then
          return false, sfmt("%s (%s): a reason shows Lua's nil (write what was missing instead): %s",
                             label, step.act, hay)
        end
      end
      if step.reason then
        local hay = reasons_text(res.refused or res.invalid)
        if not hay:find(step.reason, 1, true) then
          return false, sfmt("%s (%s): reason lacks %q: %s", label, step.act, step.reason, hay)
        end
      end
      if step.field then
        local found = false
        for _, e in ipairs(res.invalid or {}) do if e.field == step.field then found = true end end
        if not found then return false, sfmt("%s (%s): no error on field %s: %s", label, step.act, step.field, reasons_text(res.invalid)) end
      end
      if res.record then
        local r = res.record
        local id = step.id or current
        if a.creates then seq = seq + 1; id = r.id or step.id or ("t" .. seq); order[#order + 1] = id end
        r.id = id
        records[id] = r
        current = id
        if res.identity then
          local e = res.identity.entry
          if e.live == true then e.live = id end
          for j, v in ipairs(e.records or {}) do if v == true then e.records[j] = id end end
          identities[res.identity.key] = e
          local w = res.identity.was_entry
          if res.identity.was_key then identities[res.identity.was_key] = w end
          for j, v in ipairs(w and w.also or {}) do if v == true then w.also[j] = id end end
        end
      end
    end
    if step.enforce then
      for _, d in ipairs(api.deadlines()) do
        if d.at <= at and not enforced[d.measure] then
          enforced[d.measure] = true
          for _, id in ipairs(order) do
            local res = api.expire(d.measure, copy(records[id]), d.at)
            if res.error then return false, label .. " (expiry): " .. res.error end
            if res.record then res.record.id = id; records[id] = res.record end
          end
        end
      end
    end
    if step.state then
      local r = step_record(records, step.id or current, label, "state")
      known_state(r.kind, step.state, label .. ": state: ")
      if r.state ~= step.state then
        return false, sfmt("%s: state: got %s, want %s", label, r.state, step.state)
      end
    end
    if step.eval then
      local r = step_record(records, step.id or current, label, "eval")
      local res = api.eval(r, at)
      if res.error then return false, label .. " (eval): " .. res.error end
      local differs = eval_by_date_differs(r, at, res)
      if differs then return false, label .. ": " .. differs end
      if res.decision ~= step.eval then
        local fails = {}
        for _, c in ipairs(res.checks) do if not c.ok then fails[#fails + 1] = c.id .. ": " .. fmt_reason(c.reason) end end
        return false, sfmt("%s: decision: got %s, want %s (%s)", label, res.decision, step.eval, tconcat(fails, "; "))
      end
    end
    if step.check then
      local r = step_record(records, step.id or current, label, "check")
      local ok, msg = pcall(step.check, r, api.eval(r, at))
      if ok and msg == nil then
        return false, sfmt("%s: the check returned nothing (end it with return ...: true when it holds)", label)
      end
      if not ok or msg == false then return false, sfmt("%s: check failed: %s", label, tostring(msg)) end
    end
    if step.view then
      local rows = {}
      local v = defs.views[step.view]
      if step.as and not role_allows(v.roles, step.as) then
        if step.expect == "forbidden" then goto continue end
        return false, sfmt("%s: view %s is forbidden for %s", label, step.view, step.as)
      elseif step.expect == "forbidden" then
        return false, sfmt("%s: view %s is allowed for %s, want forbidden", label, step.view, step.as or "admin")
      end
      for _, id in ipairs(order) do
        local r = records[id]
        if r.kind == v.kind and (not v.states or contains(v.states, r.state)) then
          local res = api.view_row(step.view, r, step.params, at)
          if res.error then return false, label .. " (view): " .. res.error end
          if res.row then rows[#rows + 1] = res.row end
        end
      end
      if step.rows and #rows ~= step.rows then
        return false, sfmt("%s: view %s: got %d rows, want %d", label, step.view, #rows, step.rows)
      end
      if step.rows_check then
        local ok, msg = pcall(step.rows_check, rows)
        if ok and msg == nil then
          return false, sfmt("%s: the rows check returned nothing (end it with return ...: true when it holds)", label)
        end
        if not ok or msg == false then return false, sfmt("%s: rows check failed: %s", label, tostring(msg)) end
      end
    end
    ::continue::
  end
  return true
end

-- Runs test i; returns { ok, name, diag }.  Test 1 starts a new run: the
-- self-check's report (api.test_selfcheck) is of the tests run since.
function api.test_run(i)
  local t = defs.tests[i]
  made_instants = nil
  if i == 1 then selfcheck.evals, selfcheck.made, selfcheck.bounds = 0, {}, nil end
  local ok, good, diag = pcall(t.kind == "case" and check_case or check_scenario, t)
  if not ok then return { ok = false, name = t.name, diag = t.where .. ": " .. tostring(good) } end
  return { ok = good and true or false, name = t.name, diag = diag and (t.where .. ": " .. diag) or nil }
end

return api
