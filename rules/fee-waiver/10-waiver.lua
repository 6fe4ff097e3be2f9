-- The application for a waiver: one per provider, named by its provider id.

-- The threshold in force on day `d` ("YYYY-MM-DD"): the amendment once it
-- applies, else the original rule.
function max_employees_on(d)
  if within("small-provider-amended", d) then
    return measure_of("small-provider-amended").max_employees
  end
  return measure_of("small-provider").max_employees
end

kind "waiver" {
  title = { ja = "手数料免除の申請", en = "Fee waiver application" },
  id_prefix = "FW-",
  key = "provider_id",                   -- one application per provider, ever (§5)
  states = { "submitted", "granted", "rejected", "withdrawn", "lapsed" },
  state_titles = {
    submitted = { ja = "審査中", en = "under review" },
    granted = { ja = "免除決定", en = "granted" },
    rejected = { ja = "不承認", en = "rejected" },
    withdrawn = { ja = "取下げ", en = "withdrawn" },
    lapsed = { ja = "期間満了", en = "lapsed" },
  },
  summary_fields = { { id = "provider_name", ja = "事業者名", en = "Provider" },
                     { id = "fee_yen", ja = "手数料（円）", en = "Fee (yen)" } },
  -- What each field is: the core validates input from it, and liuctl
  -- types key=value pairs and CSV cells by it (employees=40 is a number).
  fields = {
    provider_id   = { type = "text", required = true, digits = true, ja = "法人番号", en = "Corporate number",
                      pattern = "^%d%d%d%d%d%d%d%d%d%d%d%d%d$", pattern_why = text("13桁の数字ではありません", "is not 13 digits") },
    provider_name = { type = "text", required = true, max = 200, ja = "事業者名", en = "Provider" },
    employees     = { type = "integer", required = true, min = 1, ja = "従業員数", en = "Employees" },
    fee_yen       = { type = "integer", required = true, min = 1, ja = "手数料（円）", en = "Fee (yen)" },
    applied_on    = { type = "date", required = true, ja = "申請日", en = "Applied on" },
    rejection_reason = { recorded = true },
  },
}
