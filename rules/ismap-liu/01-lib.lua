-- Small helpers shared by the other files.  No rule of the notice lives here:
-- only text, date and list handling.

-- ---------------------------------------------------------------- text

local FULLWIDTH_SPACE = "\227\128\128"          -- U+3000 (全角スペース)

-- Strips spaces (ASCII and 全角) at both ends.  Two linear searches rather
-- than one "^%s*(.-)%s*$": that pattern backtracks quadratically, and the
-- host refuses it on long text.
function trim(s)
  repeat
    local before = s
    local first = s:find("%S")
    if not first then return "" end
    local last = s:find("%s*$", first)
    s = s:sub(first, last - 1)
    if s:sub(1, 3) == FULLWIDTH_SPACE then s = s:sub(4) end
    if s:sub(-3) == FULLWIDTH_SPACE then s = s:sub(1, -4) end
  until s == before
  return s
end

-- A one-line text of at most `max` characters, trimmed; or nil and why.
function clean_text(v, max) return read_field({ type = "text", max = max }, v) end

-- Is `s` a text with something in it (an exclusion reason, a rejection reason)?
function filled(s)
  return type(s) == "string" and trim(s) ~= ""
end

-- Full-width digits (０-９) to ASCII.
function ascii_digits(s)
  return (s:gsub("\239\188([\144-\153])", function (b) return string.char(b:byte() - 144 + 48) end))
end

-- Joins a list of {ja, en} texts into one.
function join_texts(list, sep_ja, sep_en)
  local ja, en = {}, {}
  for i, t in ipairs(list) do ja[i], en[i] = t.ja, t.en end
  return text(table.concat(ja, sep_ja or "。"), table.concat(en, sep_en or "; "))
end

-- ---------------------------------------------------------------- lists

-- Is t a list (keys 1..n only)?
function is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

-- A fresh JSON list with the items of t (so that an empty list stays []).
function as_list(t)
  local out = array()
  if type(t) == "table" then for i, v in ipairs(t) do out[i] = v end end
  return out
end

-- A value from a record as it goes into a message: text and numbers as they
-- are, anything else by its type.  Never tostring() of a table: that prints
-- a memory address, which differs from run to run (and says nothing); nor
-- of nil, Lua's word that no reader of a message knows: nothing given is a
-- dash, in either language.
function shown(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "nil" then return "—" end
  if t == "number" or t == "boolean" then return tostring(v) end
  return is_list(v) and "[…]" or "{…}"
end

-- The keys of a set, sorted, as one text.
function sorted_keys(t, sep)
  local out = {}
  for k in pairs(t) do out[#out + 1] = tostring(k) end
  table.sort(out)
  return table.concat(out, sep or ", ")
end

-- ---------------------------------------------------------------- dates and periods
-- Dates are kept as "YYYY-MM-DD" (JST) once validated; such texts compare in
-- time order as plain strings.

-- The eras of 和暦, newest first, each with its first day (data: a new era
-- is one line).  Dates before 1900 are refused anyway (civil_date).
ERAS = {
  { name = "令和", from = "2019-05-01" },
  { name = "平成", from = "1989-01-08" },
  { name = "昭和", from = "1926-12-25" },
  { name = "大正", from = "1912-07-30" },
  { name = "明治", from = "1868-01-25" },
}

-- "2024-06-01" -> "令和6年6月1日"; a month "2024-06" -> "令和6年6月" (the era
-- of its first day).  Anything else is returned as it is.
function wareki(d)
  local y, m, day = d:match("^(%d%d%d%d)%-(%d%d)%-?(%d*)$")
  if not y then return d end
  local first = y .. "-" .. m .. "-" .. (day ~= "" and day or "01")
  for _, e in ipairs(ERAS) do
    if first >= e.from then
      local n = tonumber(y) - tonumber(e.from:sub(1, 4)) + 1
      local out = e.name .. (n == 1 and "元" or tostring(n)) .. "年" .. tonumber(m) .. "月"
      return day ~= "" and out .. tonumber(day) .. "日" or out
    end
  end
  return d
end

-- A date as Japanese prose gives it: 和暦, then 西暦 in parentheses:
-- "令和6年6月1日（2024年6月1日）"; a month "令和6年6月（2024年6月）".
function ja_date(d)
  local y, m, day = d:match("^(%d%d%d%d)%-(%d%d)%-?(%d*)$")
  if not y then return d end
  local west = y .. "年" .. tonumber(m) .. "月" .. (day ~= "" and tonumber(day) .. "日" or "")
  return wareki(d) .. "（" .. west .. "）"
end

-- civil_date(v) -> "YYYY-MM-DD" (JST), or nil and why: as a field of type
-- date reads it (docs/RULES.md): 2023-06-01, 令和5年6月1日, 2023/6/1, 令和7年3月末.
civil_date = read_date

-- The last day (JST) on which a fact dated within measure `id` may still be
-- recorded: its last day plus LATE_RECORDING_DAYS (00-pack.lua); nil for a
-- measure with no end.
function late_recording_until(id)
  local m = measure_of(id)
  if not m.ends then return nil end
  return date_of(m.ends - 1 + LATE_RECORDING_DAYS * 86400)
end

-- The days a measure is in force, as text: ja "令和5年5月19日（2023年5月19日）から
-- 令和7年3月31日（2025年3月31日）まで", en "2023-05-19 to 2025-03-31".
function period_text(id)
  local m = measure_of(id)
  local from = m.starts and date_of(m.starts)
  local till = m.ends and date_of(m.ends - 1)
  if not till then return text(ja_date(from) .. "から", "from " .. from) end
  return text(ja_date(from) .. "から" .. ja_date(till) .. "まで", from .. " to " .. till)
end

-- The days a measure is in force in 和暦 alone, for a parenthesis in prose
-- (no parentheses inside it): "令和5年5月19日から令和7年3月31日まで".
function period_wareki(id)
  local m = measure_of(id)
  local from = wareki(date_of(m.starts))
  if not m.ends then return from .. "から" end
  return from .. "から" .. wareki(date_of(m.ends - 1)) .. "まで"
end

-- A time of the ISMAP-LIU application as planned: a month ("2024-10",
-- "令和6年10月") or a day.  Returns "YYYY-MM" or "YYYY-MM-DD", or nil and why.
function planned_time(v) return read_month(v, true) end

-- ---------------------------------------------------------------- 法人番号

-- The 13-digit corporate number: the first digit is a check digit,
-- 9 - (Σ Pn × Qn mod 9) over the 12 other digits, n counted from the right,
-- Qn = 1 for odd n and 2 for even n (国税庁「法人番号の指定等に関する省令」).
function corporate_number_ok(s)
  if not s:match("^%d%d%d%d%d%d%d%d%d%d%d%d%d$") then return false end
  local sum = 0
  for n = 1, 12 do
    local digit = s:byte(14 - n) - 48
    sum = sum + digit * (n % 2 == 1 and 1 or 2)
  end
  return s:byte(1) - 48 == 9 - sum % 9
end

-- ---------------------------------------------------------------- filings

-- The first recorded ISMAP-LIU filing (application or pre-application) made
-- within the period of the special measure, on or before the day `upto`
-- (nil: any recorded one).  Returns the filing and its date, or nil.
function filing_in_period(app, upto)
  local list = app.liu_filings
  if type(list) ~= "table" then return nil end
  for _, f in ipairs(list) do
    if type(f) == "table" then
      local d = civil_date(f.filed_on)
      if d and (upto == nil or d <= upto) and within("special-measure", d) then return f, d end
    end
  end
  return nil
end
