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
function clean_text(v, max)
  if type(v) ~= "string" then
    return nil, text("文字列ではありません", "must be text")
  end
  if not utf8.len(v) then
    return nil, text("UTF-8 の文字列ではありません", "is not UTF-8 text")
  end
  if v:find("[\0-\31\127]") then
    return nil, text("改行や制御文字は使えません", "must not contain line breaks or control characters")
  end
  v = trim(v)
  if v == "" then return nil, text("空です", "is empty") end
  if utf8.len(v) > max then
    return nil, text(string.format("%d 文字以内にしてください", max),
                     string.format("must be at most %d characters", max))
  end
  return v
end

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

function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
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

local function days_in_month(y, m)
  if m == 2 then
    return (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28
  end
  return (m == 4 or m == 6 or m == 9 or m == 11) and 30 or 31
end

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

-- A date as people write it to the daemon's date(): trimmed, digits made
-- ASCII, 西暦 in kanji ("2023年6月1日") as 2023-06-01, and a month's end
-- ("令和7年3月末", the notice's own phrase; "2025年3月末") as its last day.
-- Returns the text to give date(), or nil and why.
local function date_text(v)
  local s = ascii_digits(trim(v))
  local y, m, d = s:match("^(%d%d%d%d)年(%d%d?)月(%d%d?)日$")
  if not y then y, m, d = s:match("^(%d%d%d%d)/(%d%d?)/(%d%d?)$") end   -- Excel's own: 2023/6/1
  if y then return string.format("%s-%02d-%02d", y, tonumber(m), tonumber(d)) end
  local head, mm = s:match("^(.-年)(%d%d?)月末$")
  if head then
    local first, why = date(date_text(head .. mm .. "月1日"))
    if not first then return nil, why end
    local fy, fm = tonumber(first:sub(1, 4)), tonumber(first:sub(6, 7))
    return string.format("%04d-%02d-%02d", fy, fm, days_in_month(fy, fm))
  end
  return s
end

-- date(v) -> "YYYY-MM-DD" (JST), or nil and why; limited to the years
-- 1900-9999: the host writes years below 1000 without their leading zeros
-- ("1-01-01"), which would not read back as a date, and a year before 1900
-- is a typing mistake in every field of this notice.
function civil_date(v)
  local d, why
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
  return d, why
end

-- Is measure `id` in force at some instant of [s, e)?
function in_force_during(id, s, e)
  local m = measure_of(id)
  return (m.starts == nil or e > m.starts) and (m.ends == nil or s < m.ends)
end

-- Is measure `id` in force on (some part of) the day d ("YYYY-MM-DD")?
function in_force_on(id, d)
  return in_force_during(id, day_start(d), day_end(d))
end

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
-- "2024年10月", "令和6年10月") or a day (any form date() reads).
-- Returns "YYYY-MM" or "YYYY-MM-DD", or nil and why.
function planned_time(v)
  if type(v) ~= "string" then
    return nil, text("文字列ではありません（例: 2024-10）", "must be text (e.g. 2024-10)")
  end
  v = ascii_digits(trim(v))
  local y, m = v:match("^(%d%d%d%d)%-(%d%d)$")
  if not y then y, m = v:match("^(%d%d%d%d)年(%d%d?)月$") end
  if not y then y, m = v:match("^(%d%d%d%d)/(%d%d?)$") end   -- Excel's own: 2024/10
  if y then
    m = tonumber(m)
    if m < 1 or m > 12 then return nil, text("存在しない月です", "no such month") end
    if tonumber(y) < 1000 or tonumber(y) > 9998 then return nil, text("年が範囲外です", "year out of range") end
    return string.format("%s-%02d", y, m)
  end
  if v:match("月$") then                       -- 和暦の月: 令和6年10月
    local d, why = civil_date(v .. "1日")
    if not d then return nil, why end
    return d:sub(1, 7)
  end
  local d, why = civil_date(v)
  if not d then
    return nil, text(why.ja .. "（年月 2024-10 または日付で書いてください）",
                     why.en .. " (write a month, 2024-10, or a date)")
  end
  return d
end

-- The instants [s, e) that a planned time ("YYYY-MM" or "YYYY-MM-DD") covers.
function planned_span(p)
  if #p == 7 then
    local y, m = tonumber(p:sub(1, 4)), tonumber(p:sub(6, 7))
    local ny, nm = y, m + 1
    if nm == 13 then ny, nm = y + 1, 1 end
    return day_start(p .. "-01"), day_start(string.format("%04d-%02d-01", ny, nm))
  end
  return day_start(p), day_end(p)
end

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
      if d and (upto == nil or d <= upto) and in_force_on("special-measure", d) then return f, d end
    end
  end
  return nil
end
