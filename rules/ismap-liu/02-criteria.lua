-- ISMAP 管理基準 (the ISMAP control criteria), as data, for requirement R3,
-- the validation of a statement and the service list.
--
-- Editions are data: data/editions.csv lists them (version, date of issue,
-- file, title), one CSV per edition (columns: data/README of the criteria).
-- A provider's statement names the edition it was made against
-- (statement.criteria_version); an edition not listed is refused.  To add an
-- edition: put its CSV in data/ and add one line to data/editions.csv.
EDITIONS_FILE = "data/editions.csv"

-- CRITERIA[version] = {
--   version, issued ("YYYY-MM-DD"), title = {ja, en}, count,
--   governance = { ids }   ガバナンス基準: every item and sub-item must be met
--   management = { ids }   マネジメント基準: every item and sub-item must be met
--   objectives = { ids }   管理策基準の統制目標: met, or excluded with a reason
--   b_controls = { {id, parent} }  詳細管理策 .B/.PB: met, unless the parent objective is excluded
--   by_id = { id -> {type, level, parent} }
--   objective_of = { "6.3.1" -> "6.3.1.P" }  (three numbers -> objective identifier)
-- }
-- Built once, when the pack loads, so that R3 is a plain loop over these lists.
-- CRITERIA_VERSIONS: the editions, sorted (for messages).  Both are set
-- below, by editions_from_file.

local TYPES = { governance = true, management = true, controls = true }
local LEVELS = {
  governance = { item = true, sub_item = true },
  management = { item = true, sub_item = true },
  controls = { objective = true, detailed = true },
}

-- The parts of the criteria, as the criteria name them (for reasons and the list).
CRITERIA_PARTS = {
  governance = { ja = "ガバナンス基準", en = "governance criterion" },
  management = { ja = "マネジメント基準", en = "management criterion" },
  objective  = { ja = "統制目標", en = "control objective" },
  detailed   = { ja = "詳細管理策", en = "detailed control" },
}

-- The three leading numbers of an identifier: "6.3.1.1.PB" -> "6.3.1".
function id_base(id)
  return id:match("^(%d+%.%d+%.%d+)")
end

-- edition_from_rows(version, title, rows, source) -> an edition (see
-- CRITERIA above) from rows shaped as the CSV's; raises "source:line: why"
-- on a malformed row.  Used by the loader below, and by the pack's tests to
-- build a synthetic edition.
function edition_from_rows(version, title, rows, source)
  local c = { version = version, issued = version, title = title, count = 0, governance = {},
              management = {}, objectives = {}, b_controls = {}, by_id = {}, objective_of = {} }
  for i, row in ipairs(rows) do
    local function bad(msg) error(string.format("%s:%d: %s", source, i + 1, msg), 0) end
    local id, ctype, level = row.control_id or "", row.criteria_type, row.level
    if (row.criteria_version or version) ~= version then
      bad("criteria_version " .. row.criteria_version .. " in the file of edition " .. version)
    end
    if id == "" then bad("control_id is required") end
    if not TYPES[ctype] then bad("unknown criteria_type " .. tostring(ctype)) end
    if not LEVELS[ctype][level] then bad("unknown level " .. tostring(level)) end
    if not id_base(id) then bad("not an identifier: " .. id) end
    if c.by_id[id] then bad("identifier listed twice: " .. id) end
    local parent = row.parent_id ~= "" and row.parent_id or nil
    local entry = { type = ctype, level = level, parent = parent }
    c.by_id[id] = entry
    c.count = c.count + 1
    if ctype == "governance" then
      c.governance[#c.governance + 1] = id
    elseif ctype == "management" then
      c.management[#c.management + 1] = id
    elseif level == "objective" then
      c.objectives[#c.objectives + 1] = id
      c.objective_of[id_base(id)] = id
    elseif row.suffix == "B" or row.suffix == "PB" then
      if not parent then bad("a detailed control needs its parent_id: " .. id) end
      c.b_controls[#c.b_controls + 1] = { id = id, parent = parent }
    else
      bad("only B/PB detailed controls belong in the list: " .. id)
    end
  end
  -- Every B control must sit under an objective of its edition.
  for _, b in ipairs(c.b_controls) do
    local p = c.by_id[b.parent]
    if not p or p.level ~= "objective" then
      error(string.format("%s: %s: parent %s is not a control objective", source, b.id, b.parent), 0)
    end
  end
  return c
end

-- editions_from_file(path) -> the editions a list names ({version ->
-- edition}) and their versions, sorted; raises "path:line: why" on a
-- malformed line.  Each line's file is read too (paths from the pack's
-- folder).  The pack reads EDITIONS_FILE with it; its tests read a list of
-- their own (tests/data/editions.csv, a synthetic second edition).
function editions_from_file(path)
  local eds, versions = {}, {}
  for i, e in ipairs(csv(path)) do
    local where = path .. ":" .. (i + 1)
    if not date(e.issued or "") or e.file == "" or e.title_ja == "" or e.title_en == "" then
      error(where .. ": each edition needs criteria_version, issued (a date), file, title_ja and title_en", 0)
    end
    if eds[e.criteria_version] then error(where .. ": edition listed twice: " .. e.criteria_version, 0) end
    local c = edition_from_rows(e.criteria_version, text(e.title_ja, e.title_en), csv(e.file), e.file)
    c.issued = date(e.issued)
    eds[c.version] = c
    versions[#versions + 1] = c.version
  end
  table.sort(versions)
  return eds, versions
end

CRITERIA, CRITERIA_VERSIONS = editions_from_file(EDITIONS_FILE)

-- The tests' own list, with a synthetic second edition: files are read only
-- while the pack loads, so it is read here, kept apart from CRITERIA (no
-- statement may name it), and judged by tests/62-notice2.lua.  A pack
-- installed without its tests has none.
TEST_EDITIONS_FILE = "tests/data/editions.csv"
do
  local ok, eds, versions = pcall(editions_from_file, TEST_EDITIONS_FILE)
  TEST_EDITIONS = ok and { editions = eds, versions = versions }
                  or { error = tostring(eds) }
end

-- Is a statement entry an exclusion with a stated reason?
function excluded_with_reason(s)
  return type(s) == "table" and filled(s.excluded)
end

-- The part of the criteria an identifier of edition `ed` belongs to, with
-- the identifier: {ja = "統制目標 9.2.3", en = "control objective 9.2.3"}.
function criterion_name(ed, id)
  local e = ed.by_id[id]
  local part = e and CRITERIA_PARTS[e.type == "controls" and e.level or e.type]
  if not part then return text("識別子 " .. id, "identifier " .. id) end
  return text(part.ja .. " " .. id, part.en .. " " .. id)
end

-- ---------------------------------------------------------------- R3's findings

-- statement_findings(controls, ed) -> what a statement leaves unstated, by
-- part of edition `ed`, in the order of the criteria:
--   governance, management, objectives (neither met nor excluded),
--   noreason (excluded without a reason), b_controls (not met, parent not excluded),
--   excluded (objectives excluded with a reason), exempt (B controls under them).
function statement_findings(controls, ed)
  local f = { governance = {}, management = {}, objectives = {}, noreason = {}, b_controls = {},
              excluded = {}, exempt = 0 }
  f.governance, f.management = unstated(ed.governance, controls, "met"), unstated(ed.management, controls, "met")
  for _, id in ipairs(ed.objectives) do
    local s = controls[id]
    if excluded_with_reason(s) then f.excluded[#f.excluded + 1] = id
    elseif s ~= "met" then
      local list = (type(s) == "table" and s.excluded ~= nil) and f.noreason or f.objectives
      list[#list + 1] = id
    end
  end
  for _, c in ipairs(ed.b_controls) do
    if excluded_with_reason(controls[c.parent]) then f.exempt = f.exempt + 1
    elseif controls[c.id] ~= "met" then f.b_controls[#f.b_controls + 1] = c.id end
  end
  return f
end

-- A list of identifiers for people: the first `max`, then how many more.
local function some_ids(list, max)
  local shown_ids = {}
  for i = 1, math.min(#list, max) do shown_ids[i] = list[i] end
  local more = #list - #shown_ids
  return text(table.concat(shown_ids, "、") .. (more > 0 and string.format(" ほか %d 件", more) or ""),
              table.concat(shown_ids, ", ") .. (more > 0 and string.format(" and %d more", more) or ""))
end
LIST_IDS_MAX = 5       -- excluded objectives named in the service list

-- The service list's 「ISMAP管理基準への適合状況」 of a statement: a statement
-- (no auditor's report: fn 1 of the notice), part by part, the excluded
-- objectives named.  Never says "met" of what was excluded.
function compliance_text(controls, ed)
  local f = statement_findings(controls, ed)
  local function count(total, missing, excluded)
    local met = total - missing - (excluded or 0)
    if met == total then return text("全項目", "all items") end
    return text(string.format("%d 中 %d", total, met), string.format("%d of %d", met, total))
  end
  local gm_total = #ed.governance + #ed.management
  local gm = count(gm_total, #f.governance + #f.management)
  local obj = count(#ed.objectives, #f.objectives + #f.noreason, #f.excluded)
  if #f.excluded > 0 then
    local ids = some_ids(f.excluded, LIST_IDS_MAX)
    obj = text(obj.ja .. "（除外: " .. ids.ja .. "）", obj.en .. " (excluded: " .. ids.en .. ")")
  end
  local b = count(#ed.b_controls - f.exempt, #f.b_controls)
  if b.en == "all items" then b = text("全項目", "all") end
  if f.exempt > 0 and f.exempt == #ed.b_controls then
    -- "all of none" would read as met: say that none is stated.
    b = text(string.format("の言明なし（%d 件すべてが除外した統制目標の下）", f.exempt),
             string.format("none stated (all %d under excluded objectives)", f.exempt))
  elseif f.exempt > 0 then
    b = text(b.ja .. string.format("（除外した統制目標の下の %d 件を除く）", f.exempt),
             b.en .. string.format(" (%d under excluded objectives exempt)", f.exempt))
  end
  return text(
    "言明（監査なし）: " .. ed.title.ja .. "のガバナンス基準・マネジメント基準 " .. gm.ja ..
      "、統制目標 " .. obj.ja .. "、詳細管理策（B）" .. b.ja,
    "self-statement (no audit) against the " .. ed.title.en .. ": governance and management criteria: " ..
      gm.en .. "; control objectives: " .. obj.en .. "; detailed controls (B): " .. b.en)
end

-- ---------------------------------------------------------------- identifiers as written


-- The real identifier of edition `ed` closest to `id`, which is not one:
-- the same once spaces, width and case are undone; else one that adds a
-- suffix (9.4.2.2 -> 9.4.2.2.B); else the nearest by edit distance, among
-- those with the same three leading numbers when there are any.
function closest_id(ed, id)
  local n = ascii_digits(id):gsub("%s", ""):gsub("\239\188\142", "."):upper()
  if ed.by_id[n] then return n end
  for _, suffix in ipairs({ ".B", ".PB", ".P" }) do
    if ed.by_id[n .. suffix] then return n .. suffix end
  end
  local base = id_base(n)
  local best, best_d
  for _, list in ipairs({ ed.governance, ed.management, ed.objectives }) do
    for _, cand in ipairs(list) do
      if not base or id_base(cand) == base or not ed.objective_of[base] then
        local d = edit_distance(n, cand)
        if not best_d or d < best_d then best, best_d = cand, d end
      end
    end
  end
  for _, b in ipairs(ed.b_controls) do
    if not base or id_base(b.id) == base or not ed.objective_of[base] then
      local d = edit_distance(n, b.id)
      if not best_d or d < best_d then best, best_d = b.id, d end
    end
  end
  return best
end

-- control_errors(controls, ed, bad): calls bad(id, why) for each entry of a
-- statement that edition `ed` does not accept: an identifier not in the
-- edition (with the closest real one), a value other than "met" or an
-- exclusion, an exclusion of anything but an objective, or without a reason.
-- Trims the reasons of the exclusions it accepts.
function control_errors(controls, ed, bad)
  for id, s in pairs(controls) do
    local c = type(id) == "string" and ed.by_id[id]
    if not c then
      local near = type(id) == "string" and closest_id(ed, id)
      local was = type(id) == "string" and id or shown(id)
      bad(id, text("識別子「" .. was .. "」は" .. ed.title.ja .. "にありません" ..
                     (near and "。最も近い識別子は " .. criterion_name(ed, near).ja .. " です" or ""),
                   "not an identifier of the " .. ed.title.en .. (near and " (did you mean " .. near .. "?)" or "")))
    else
      local name = criterion_name(ed, id)
      if s == "met" then
        -- fine
      elseif type(s) == "table" and s.excluded ~= nil and next(s, next(s)) == nil then
        if c.level ~= "objective" then
          bad(id, text(name.ja .. " は除外できません（除外できるのは統制目標だけです）",
                       "only a control objective may be excluded, not " .. name.en))
        elseif not filled(s.excluded) then
          bad(id, text(name.ja .. " の除外の理由がありません", "the reason for the exclusion is missing"))
        else
          s.excluded = trim(s.excluded)
        end
      elseif c.level == "objective" then
        bad(id, text(name.ja .. " は「met」（満たす）と書くか、除外するときはその理由を excluded に書いてください",
                     "must be \"met\", or an exclusion with its reason in \"excluded\""))
      else
        bad(id, text(name.ja .. " は「met」（満たす）と書いてください（除外はできません）",
                     "must be \"met\" (only a control objective may be excluded)"))
      end
    end
  end
end
