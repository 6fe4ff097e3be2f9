-- ISMAP 管理基準 (the ISMAP control criteria), as data: editions are listed in
-- data/editions.csv, one CSV each, and a statement names its edition
-- (statement.criteria_version).  To add one: its CSV in data/, a line in the
-- list.  CRITERIA[version] = { version, issued, title = {ja, en}, count,
--   governance, management (every item met), objectives (met, or excluded
--   with a reason), b_controls = { {id, parent} } (met unless the parent is
--   excluded), by_id = { id -> {type, level, parent} }, objective_of }.
EDITIONS_FILE = "data/editions.csv"

-- The levels of each type of row.
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
function id_base(id) return id:match("^(%d+%.%d+%.%d+)") end

-- edition_from_rows(version, title, rows, source) -> an edition from rows
-- shaped as the CSV's (the tests build one); raises "source:line: why".
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
    if not LEVELS[ctype] then bad("unknown criteria_type " .. tostring(ctype)) end
    if not LEVELS[ctype][level] then bad("unknown level " .. tostring(level)) end
    if not id_base(id) then bad("not an identifier: " .. id) end
    if c.by_id[id] then bad("identifier listed twice: " .. id) end
    local parent = row.parent_id ~= "" and row.parent_id or nil
    c.by_id[id] = { type = ctype, level = level, parent = parent }
    c.count = c.count + 1
    local list = ctype ~= "controls" and c[ctype] or level == "objective" and c.objectives
    if list then
      list[#list + 1] = id
      if list == c.objectives then c.objective_of[id_base(id)] = id end
    elseif row.suffix ~= "B" and row.suffix ~= "PB" then
      bad("only B/PB detailed controls belong in the list: " .. id)
    elseif not parent then
      bad("a detailed control needs its parent_id: " .. id)
    else
      c.b_controls[#c.b_controls + 1] = { id = id, parent = parent }
    end
  end
  for _, b in ipairs(c.b_controls) do      -- every B control sits under an objective
    local p = c.by_id[b.parent]
    if not p or p.level ~= "objective" then
      error(string.format("%s: %s: parent %s is not a control objective", source, b.id, b.parent), 0)
    end
  end
  return c
end

-- editions_from_file(path) -> the editions a list names ({version ->
-- edition}) and their versions, sorted; raises "path:line: why".
function editions_from_file(path)
  local eds, versions = {}, {}
  for i, e in ipairs(csv(path)) do
    local where = path .. ":" .. (i + 1)
    if not date(e.issued or "") or e.file == "" or e.title_ja == "" or e.title_en == "" then
      error(where .. ": each edition needs criteria_version, issued (a date), file, title_ja"
            .. " and title_en", 0)
    end
    -- a statement's edition is read as a date (Excel's 2022/4/1 is 2022-04-01)
    if date(e.criteria_version or "") ~= e.criteria_version then
      error(where .. ": criteria_version must be the edition's date as YYYY-MM-DD: " .. tostring(e.criteria_version), 0)
    end
    if eds[e.criteria_version] then
      error(where .. ": edition listed twice: " .. e.criteria_version, 0)
    end
    local title = text(e.title_ja, e.title_en)
    local c = edition_from_rows(e.criteria_version, title, csv(e.file), e.file)
    c.issued = date(e.issued)
    eds[c.version] = c
    versions[#versions + 1] = c.version
  end
  table.sort(versions)
  return eds, versions
end

CRITERIA, CRITERIA_VERSIONS = editions_from_file(EDITIONS_FILE)

-- Is a statement entry an exclusion with a stated reason?
function excluded_with_reason(s) return type(s) == "table" and filled(s.excluded) end

-- The part of the criteria an identifier of edition `ed` belongs to, with
-- the identifier: {ja = "統制目標 9.2.3", en = "control objective 9.2.3"}.
function criterion_name(ed, id)
  local e = ed.by_id[id]
  local part = e and CRITERIA_PARTS[e.type == "controls" and e.level or e.type]
  if not part then return text("識別子 " .. id, "identifier " .. id) end
  return text(part.ja .. " " .. id, part.en .. " " .. id)
end

-- statement_findings(controls, ed) -> what a statement leaves unstated, by
-- part: governance, management, objectives, noreason (excluded without a
-- reason), b_controls; and excluded (with a reason), exempt (B under them).
function statement_findings(controls, ed)
  local f = { governance = unstated(ed.governance, controls, "met"), objectives = {},
              management = unstated(ed.management, controls, "met"), noreason = {},
              b_controls = {}, excluded = {}, exempt = 0 }
  for _, id in ipairs(unstated(ed.objectives, controls, "met")) do   -- the rest are "met"
    local s = controls[id]
    local list = excluded_with_reason(s) and f.excluded
                 or (type(s) == "table" and s.excluded ~= nil) and f.noreason or f.objectives
    list[#list + 1] = id
  end
  for _, c in ipairs(ed.b_controls) do
    local p = controls[c.parent]
    if p ~= "met" and excluded_with_reason(p) then f.exempt = f.exempt + 1
    elseif controls[c.id] ~= "met" then f.b_controls[#f.b_controls + 1] = c.id end
  end
  return f
end

LIST_IDS_MAX = 5       -- excluded objectives named in the service list

-- The service list's 「ISMAP管理基準への適合状況」 of a statement: a statement
-- (no auditor's report: fn 1 of the notice), part by part, the excluded
-- objectives named (the first LIST_IDS_MAX).  Never says "met" of what was excluded.
function compliance_text(controls, ed)
  local f = statement_findings(controls, ed)
  local function count(total, missing, all_ja, all_en)
    local met = total - missing
    if met == total then return text(all_ja, all_en) end
    return text(string.format("%d 中 %d", total, met), string.format("%d of %d", met, total))
  end
  local gm = count(#ed.governance + #ed.management, #f.governance + #f.management,
                   "全項目", "all items")
  local obj = count(#ed.objectives, #f.objectives + #f.noreason + #f.excluded,
                    "全項目", "all items")
  if #f.excluded > 0 then
    local ids = { table.unpack(f.excluded, 1, math.min(#f.excluded, LIST_IDS_MAX)) }
    local more = #f.excluded - #ids
    obj = text(obj.ja .. "（除外: " .. table.concat(ids, "、")
                 .. (more > 0 and string.format(" ほか %d 件", more) or "") .. "）",
               obj.en .. " (excluded: " .. table.concat(ids, ", ")
                 .. (more > 0 and string.format(" and %d more", more) or "") .. ")")
  end
  local b = count(#ed.b_controls - f.exempt, #f.b_controls, "全項目", "all")
  if f.exempt > 0 and f.exempt == #ed.b_controls then
    -- "all of none" would read as met: say that none is stated.
    b = text(string.format("の言明なし（%d 件すべてが除外した統制目標の下）", f.exempt),
             string.format("none stated (all %d under excluded objectives)", f.exempt))
  elseif f.exempt > 0 then
    b = text(b.ja .. string.format("（除外した統制目標の下の %d 件を除く）", f.exempt),
             b.en .. string.format(" (%d under excluded objectives exempt)", f.exempt))
  end
  return text("言明（監査なし）: " .. ed.title.ja .. "のガバナンス基準・マネジメント基準 " .. gm.ja
                .. "、統制目標 " .. obj.ja .. "、詳細管理策（B）" .. b.ja,
              "self-statement (no audit) against the " .. ed.title.en
                .. ": governance and management criteria: " .. gm.en .. "; control objectives: "
                .. obj.en .. "; detailed controls (B): " .. b.en)
end

-- The statement of an application, as the list and `record get` show it.
function statement_text(app)
  local st = type(app.statement) == "table" and app.statement or {}
  local ed = type(st.criteria_version) == "string" and CRITERIA[st.criteria_version]
  return ed and type(st.controls) == "table" and compliance_text(st.controls, ed)
         or text("言明なし", "no statement")
end

-- The real identifier of edition `ed` closest to `id`, which is not one:
-- the same once spaces, width and case are undone; else one that adds a
-- suffix (9.4.2.2 -> 9.4.2.2.B); else the nearest by edit distance, among
-- those with the same three leading numbers when there are any.
function closest_id(ed, id)
  local n = id:gsub("\239\188([\144-\153])", function (b) return string.char(b:byte() - 96) end)
              :gsub("%s", ""):gsub("\239\188\142", "."):upper()
  for _, suffix in ipairs({ "", ".B", ".PB", ".P" }) do
    if ed.by_id[n .. suffix] then return n .. suffix end
  end
  local base = id_base(n)
  local near = base and ed.objective_of[base]
  local best, best_d
  for _, list in ipairs({ ed.governance, ed.management, ed.objectives, ed.b_controls }) do
    for _, cand in ipairs(list) do
      cand = cand.id or cand
      local d = (not near or id_base(cand) == base) and edit_distance(n, cand)
      if d and (not best_d or d < best_d) then best, best_d = cand, d end
    end
  end
  return best
end

-- control_errors(controls, ed, bad): bad(id, why) for each entry edition `ed`
-- does not accept (an unknown id, with the closest real one; not "met" nor a
-- reasoned exclusion of an objective).  Trims the reasons it accepts.
function control_errors(controls, ed, bad)
  for id, s in pairs(controls) do
    local c = type(id) == "string" and ed.by_id[id]
    local name = c and criterion_name(ed, id)
    local exclusion = type(s) == "table" and s.excluded ~= nil and next(s, next(s)) == nil
    if not c then
      local near = type(id) == "string" and closest_id(ed, id)
      bad(id, text("識別子「" .. shown(id) .. "」は" .. ed.title.ja .. "にありません" ..
                   (near and "。最も近い識別子は " .. criterion_name(ed, near).ja .. " です" or ""),
                   "not an identifier of the " .. ed.title.en
                   .. (near and " (did you mean " .. near .. "?)" or "")))
    elseif exclusion and c.level ~= "objective" then
      bad(id, text(name.ja .. " は除外できません（除外できるのは統制目標だけです）",
                   "only a control objective may be excluded, not " .. name.en))
    elseif exclusion and not filled(s.excluded) then
      bad(id, text(name.ja .. " の除外の理由がありません", "the reason for the exclusion is missing"))
    elseif exclusion then
      s.excluded = trim(s.excluded)
    elseif s ~= "met" and c.level == "objective" then
      bad(id, text(name.ja .. " は「met」（満たす）と書くか、除外するときはその理由を excluded に書いてください",
                   "must be \"met\", or an exclusion with its reason in \"excluded\""))
    elseif s ~= "met" then
      bad(id, text(name.ja .. " は「met」（満たす）と書いてください（除外はできません）",
                   "must be \"met\" (only a control objective may be excluded)"))
    end
  end
end
