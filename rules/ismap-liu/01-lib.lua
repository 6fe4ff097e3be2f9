-- Small helpers shared by the other files; no rule of the notice lives here.
-- Dates are kept as "YYYY-MM-DD" (JST): such texts compare in time order.

-- Is `s` a text with something in it (an exclusion reason, a rejection reason)?
function filled(s) return type(s) == "string" and trim(s) ~= "" end

-- Joins a list of {ja, en} texts into one.
function join_texts(list, sep_ja, sep_en)
  local ja, en = {}, {}
  for i, t in ipairs(list) do ja[i], en[i] = t.ja, t.en end
  return text(table.concat(ja, sep_ja or "。"), table.concat(en, sep_en or "; "))
end

-- The last day on which a fact dated within measure `id` may still be
-- recorded: its last day plus LATE_RECORDING_DAYS; nil for no end.
function late_recording_until(id)
  local m = measure_of(id)
  return m.ends and date_of(m.ends - 1 + LATE_RECORDING_DAYS * 86400)
end

-- The 13-digit corporate number: the first digit is a check digit,
-- 9 - (Σ Pn × Qn mod 9) over the 12 other digits, n counted from the right,
-- Qn = 1 for odd n and 2 for even n (国税庁「法人番号の指定等に関する省令」).
function corporate_number_ok(s)
  if not s:match("^%d%d%d%d%d%d%d%d%d%d%d%d%d$") then return false end
  local sum = 0
  for n = 1, 12 do sum = sum + (s:byte(14 - n) - 48) * (n % 2 == 1 and 1 or 2) end
  return s:byte(1) - 48 == 9 - sum % 9
end

-- The first ISMAP-LIU filing recorded within the special measure's period,
-- on or before the day `upto` (nil: any), and its date; or nil.
function filing_in_period(app, upto)
  for _, f in ipairs(type(app.liu_filings) == "table" and app.liu_filings or {}) do
    local d = type(f) == "table" and read_date(f.filed_on)
    if d and (upto == nil or d <= upto) and within("special-measure", d) then return f, d end
  end
  return nil
end
