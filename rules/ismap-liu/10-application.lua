-- The record kind: one application per SaaS service.

kind "application" {
  title = { ja = "特別措置の適用申請", en = "Special-measure application" },
  id_prefix = "LIU-",
  states = { "submitted", "confirmed", "rejected", "withdrawn", "lapsed", "ended" },
  validate = function (app, err, at)
    if type(app.service_name) ~= "string" or app.service_name == "" then
      err("service_name", "サービス名は必須です", "service_name is required")
    end
    if type(app.provider_name) ~= "string" or app.provider_name == "" then
      err("provider_name", "事業者名は必須です", "provider_name is required")
    end
  end,
}

action "submit" {
  title = { ja = "申請の登録", en = "Register an application" },
  kind = "application", roles = { "secretariat" }, creates = true, to = "submitted",
  run = function (app, p, at)
    if not in_force("special-measure", at) then
      refuse { ja = "特別措置の運用期間外です", en = "the special measure is not in force" }
    end
  end,
}
