-- The application for a waiver: one per provider, named by its provider id.

-- The threshold in force on day `d` ("YYYY-MM-DD"): the amendment once it
-- applies, else the original rule.
function max_employees_on(d)
  if in_force("small-provider-amended", day_start(d)) then
    return measure_of("small-provider-amended").max_employees
  end
  return measure_of("small-provider").max_employees
end

local function nonempty(s) return type(s) == "string" and s:match("%S") ~= nil end

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
  validate = function (app, err, at, changed)
    if changed == nil or changed.provider_id then
      if type(app.provider_id) ~= "string" or not app.provider_id:match("^%d%d%d%d%d%d%d%d%d%d%d%d%d$") then
        err("provider_id", "法人番号（13桁の数字）を記入してください", "the corporate number (13 digits) is required")
      end
    end
    if changed == nil or changed.provider_name then
      if not nonempty(app.provider_name) then
        err("provider_name", "事業者名は必須です", "the provider's name is required")
      end
    end
    if changed == nil or changed.employees then
      if math.type(app.employees) ~= "integer" or app.employees < 1 then
        err("employees", "従業員数は1以上の整数で記入してください", "employees must be a whole number of at least 1")
      end
    end
    if changed == nil or changed.fee_yen then
      if math.type(app.fee_yen) ~= "integer" or app.fee_yen < 1 then
        err("fee_yen", "手数料は1円以上の整数で記入してください", "fee_yen must be a whole number of yen, at least 1")
      end
    end
    if changed == nil or changed.applied_on then
      local d, why = date(app.applied_on)
      if not d then err("applied_on", "申請日: " .. why.ja, "applied_on: " .. why.en)
      else app.applied_on = d end            -- stored as YYYY-MM-DD
    end
  end,
}
