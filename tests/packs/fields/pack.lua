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
