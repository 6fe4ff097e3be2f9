-- The register of waivers granted, for the reviewer and the offices.

view "register" {
  title = { ja = "手数料免除決定一覧", en = "Register of fee waivers" },
  kind = "waiver", roles = { "reviewer", "applicant_office" }, states = { "granted" },
  marking = { ja = "取扱注意（審査資料）", en = "Handle with care: review material" },
  columns = {
    { id = "id", ja = "受付番号", en = "Number" },
    { id = "provider_id", ja = "法人番号", en = "Corporate number" },
    { id = "provider_name", ja = "事業者名", en = "Provider" },
    { id = "fee_yen", ja = "免除額（円）", en = "Fee waived (yen)" },
  },
  row = function (app, rec, params, at)
    return { id = rec.id, provider_id = app.provider_id, provider_name = app.provider_name,
             fee_yen = app.fee_yen }
  end,
}
