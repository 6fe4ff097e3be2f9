-- ISMAP 管理基準 (the ISMAP control criteria), as data, for requirement R3.
--
-- One CSV per edition in data/ (columns: see shared/data/README.md).  A
-- provider's statement names the edition it was made against
-- (statement.criteria_version); an edition not listed here is refused.
-- To add an edition: put its CSV in data/ and add one line below.
CRITERIA_FILES = {
  "data/ismap-criteria-2022-04-01.csv",     -- 2022年4月1日版
}

-- CRITERIA[version] = {
--   version, count,
--   governance = { ids }   ガバナンス基準: every item and sub-item must be met
--   management = { ids }   マネジメント基準: every item and sub-item must be met
--   objectives = { ids }   管理策基準の統制目標: met, or excluded with a reason
--   b_controls = { {id, parent} }  詳細管理策 .B/.PB: met, unless the parent objective is excluded
--   by_id = { id -> {type, level, parent} }
--   objective_of = { "6.3.1" -> "6.3.1.P" }  (three numbers -> objective identifier)
-- }
-- Built once, when the pack loads, so that R3 is a plain loop over these lists.
CRITERIA = {}
CRITERIA_VERSIONS = {}          -- the editions, sorted (for messages)

local TYPES = { governance = true, management = true, controls = true }
local LEVELS = {
  governance = { item = true, sub_item = true },
  management = { item = true, sub_item = true },
  controls = { objective = true, detailed = true },
}

-- The three leading numbers of an identifier: "6.3.1.1.PB" -> "6.3.1".
function id_base(id)
  return id:match("^(%d+%.%d+%.%d+)")
end

for _, path in ipairs(CRITERIA_FILES) do
  for i, row in ipairs(csv(path)) do
    local line = i + 1
    local function bad(msg) error(string.format("%s:%d: %s", path, line, msg), 0) end
    local v, id = row.criteria_version, row.control_id
    if v == "" or id == "" then bad("criteria_version and control_id are required") end
    if not TYPES[row.criteria_type] then bad("unknown criteria_type " .. row.criteria_type) end
    if not LEVELS[row.criteria_type][row.level] then bad("unknown level " .. row.level) end
    if not id_base(id) then bad("not an identifier: " .. id) end
    local c = CRITERIA[v]
    if not c then
      c = { version = v, count = 0, governance = {}, management = {}, objectives = {},
            b_controls = {}, by_id = {}, objective_of = {} }
      CRITERIA[v] = c
      CRITERIA_VERSIONS[#CRITERIA_VERSIONS + 1] = v
    end
    if c.by_id[id] then bad("identifier listed twice: " .. id) end
    local entry = { type = row.criteria_type, level = row.level,
                    parent = row.parent_id ~= "" and row.parent_id or nil }
    c.by_id[id] = entry
    c.count = c.count + 1
    if row.criteria_type == "governance" then
      c.governance[#c.governance + 1] = id
    elseif row.criteria_type == "management" then
      c.management[#c.management + 1] = id
    elseif row.level == "objective" then
      c.objectives[#c.objectives + 1] = id
      c.objective_of[id_base(id)] = id
    elseif row.suffix == "B" or row.suffix == "PB" then
      if not entry.parent then bad("a detailed control needs its parent_id: " .. id) end
      c.b_controls[#c.b_controls + 1] = { id = id, parent = entry.parent }
    else
      bad("only B/PB detailed controls belong in the list: " .. id)
    end
  end
end
table.sort(CRITERIA_VERSIONS)

-- Every B control must sit under an objective of its edition.
for v, c in pairs(CRITERIA) do
  for _, b in ipairs(c.b_controls) do
    local p = c.by_id[b.parent]
    if not p or p.level ~= "objective" then
      error(string.format("criteria %s: %s: parent %s is not a control objective", v, b.id, b.parent), 0)
    end
  end
end

-- Is a statement entry an exclusion with a stated reason?
function excluded_with_reason(s)
  return type(s) == "table" and filled(s.excluded)
end
