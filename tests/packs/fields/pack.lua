-- A pack whose kind declares its fields (tests/27-field-schema.t): the core
-- validates and types input from them, and liuctl types key=value pairs.
pack { name = "fields", version = "1", title = { ja = "項目の宣言", en = "Declared fields" } }
role "clerk" { title = { ja = "係", en = "clerk" }, methods = { "record.get", "record.list" } }

kind "entry" {
  title = { ja = "届出", en = "Entry" },
  states = { "open" },
  fields = {
    code   = { type = "text", required = true, max = 20, ja = "整理コード", en = "Code" },
    count  = { type = "integer", min = 0, ja = "件数", en = "Count" },
    kind   = { type = "enum", ja = "種別", en = "Kind",
               values = { new = { ja = "新規", en = "new" }, renewal = { ja = "更新", en = "renewal", aliases = { "継続" } } } },
    office = { type = "object", ja = "担当部署", en = "Office", fields = {
      name  = { type = "text", required = true, ja = "部署名", en = "Name" },
      since = { type = "date", ja = "設置日", en = "Since" },
    } },
    month  = { type = "month", ja = "対象月", en = "Month" },
    tags   = { type = "list", of = { type = "text", max = 10 }, ja = "分類", en = "Tags" },
    quote  = { type = "text", bidi = true, ja = "引用", en = "Quote" },
  },
}

action "create" { kind = "entry", roles = { "clerk" }, creates = true, to = "open" }

-- The helpers every measure needs: a day within a measure, a value allowed
-- as of a day, a set of ids all stated.
measure "window" { title = { ja = "受付期間", en = "Window" }, temporary = true, from = "2024-04-01", till = "2024-09-30" }
measure "kinds" { title = { ja = "対象の種別", en = "Kinds allowed" }, from = "2024-07-01",
                  allowed = { "new", "renewal" }, allowed_before = { "new" } }
REQUIRED_TAGS = { "a", "b", "c" }

check "C1" {
  title = { ja = "受付期間内", en = "Within the window" },
  function (app)
    if not within("window", app.month) then return fail { ja = "期間外です", en = "outside the window" } end
    return pass()
  end,
}
check "C2" {
  title = { ja = "対象の種別", en = "Kind allowed" },
  function (app)
    local ok, list = allowed_on("kinds", app.kind, app.office.since)
    if not ok then return fail { ja = "対象外: " .. table.concat(list, "、"), en = "allowed: " .. table.concat(list, ", ") } end
    return pass()
  end,
}
check "C3" {
  title = { ja = "分類の記載", en = "Tags stated" },
  function (app)
    local set = {}
    for _, t in ipairs(app.tags or {}) do set[t] = true end
    local missing = unstated(REQUIRED_TAGS, set)
    if #missing > 0 then return fail { ja = "未記載: " .. table.concat(missing, "、"), en = "missing: " .. table.concat(missing, ", ") } end
    return pass()
  end,
}
-- unstated() as docs/RULES.md describes it, whichever way the core computes
-- it: up to the first nil of the list, deep equality, 1 and 1.0 alike.
check "C4" {
  title = { ja = "unstated の意味", en = "unstated as documented" },
  function ()
    local stated = { a = "met", b = { x = { 1 } }, c = 1.0, d = "met ", e = false }
    local got = table.concat({
      table.concat(unstated({ "a", "b", "c", "d", "e", "f" }, stated, "met"), ","),
      table.concat(unstated({ "x", "b" }, stated, { x = { 1 } }), ","),
      table.concat(unstated({ "c", "a" }, stated, 1), ","),
      table.concat(unstated({ "a", nil, "z" }, {}), ","),
      table.concat(unstated({ "e", "q" }, stated), ","),
      table.concat(unstated({ "a" }, nil), ","),
    }, "|")
    local want = "b,c,d,e,f|x|a|a|q|a"
    if got ~= want then return fail { ja = got, en = "got " .. got .. ", want " .. want } end
    return pass()
  end,
}
-- The helpers that keep the texts they read last answer as they did the
-- first time: a date or month read again, after many others, is the same;
-- a reason handed out once is the caller's to change.
check "C5" {
  title = { ja = "読み取りの繰り返し", en = "Reading again" },
  function ()
    local first = table.concat({ read_date("２０２４年６月１日"), read_month("令和6年10月", true),
                                 code_of(RESULTS, " Low ") or "-" }, ",")
    for d = 1, 300 do read_date(string.format("2024-01-%02d", d % 28 + 1) .. string.rep(" ", d)) end
    local _, why = read_date("not a date")
    why.en = "changed"
    local _, again = read_month("2024-13")
    local got = table.concat({ read_date("２０２４年６月１日"), read_month("令和6年10月", true),
                               code_of(RESULTS, " Low ") or "-" }, ",")
    local _, why2 = read_date("not a date")
    if got ~= first or why2.en == "changed" or not again then
      return fail { ja = got, en = "first " .. first .. ", then " .. got .. "; " .. why2.en }
    end
    return pass()
  end,
}
RESULTS = { low = { ja = "低位", en = "Low" }, high = { ja = "高位", en = "High" } }
