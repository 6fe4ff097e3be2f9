-- What `liuctl record get` shows first (45-summary.lua): the kind's summary,
-- lines of { ja, en, value } in reading order.

-- The value of the summary line labelled `ja`, or nil.
local function line(rec, ja)
  for _, l in ipairs(application_summary(rec.data, nil, rec)) do
    if l.ja == ja then return l.value end
  end
  return nil
end

scenario "the summary names the service, provider, 法人番号 and dates, and counts the statement" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = app_with(function (a)
      a.provider_corporate_number = "7000012050002"
      a.statement.controls["6.1.1"] = { excluded = "理由1" }
    end), check = function (rec, ev)
      local st = line(rec, "管理基準への適合の言明")
      return expect_eq(line(rec, "サービス名"), "クラウド会計SaaS")
         and expect_eq(line(rec, "事業者名"), "株式会社テスト")
         and expect_eq(line(rec, "法人番号"), "7000012050002")
         and expect_eq(line(rec, "言明日"), "2023-06-10")
         and expect_eq(line(rec, "確認日"), nil, "no confirmation yet")
         and has(st.ja, "統制目標 121 中 120（除外: 6.1.1）")
         and has(st.en, "control objectives: 120 of 121 (excluded: 6.1.1)")
    end },
  { act = "confirm", as = "secretariat", check = function (rec, ev)
      return expect_eq(line(rec, "確認日"), "2024-01-01")
    end },
}

scenario "an application with only its names says what is not given" {
  at = "2024-01-01",
  { act = "submit", as = "secretariat", params = { service_name = "S", provider_name = "P" },
    check = function (rec, ev)
      return expect_eq(line(rec, "法人番号").en, "not given")
         and expect_eq(line(rec, "管理基準への適合の言明").en, "no statement")
    end },
}
