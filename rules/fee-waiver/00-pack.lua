-- The fee waiver: the measure, its periods and its figures.  A made-up
-- measure (see README.md): a registration fee waived for small providers
-- who apply within a window, for at most a fixed number of providers.

pack { name = "fee-waiver", version = "2025-04-01",
       title = { ja = "登録手数料の免除（試行）", en = "Registration fee waiver (pilot)" },
       eval_by_date = true }

-- Applications are taken from the first day through the last, JST.  Open
-- applications lapse when it ends (50-expiry.lua).
measure "application-window" {
  title = { ja = "免除申請の受付期間", en = "Application window" },
  temporary = true, from = "2025-04-01", till = "2025-09-30",
  cap = 5,                               -- waivers granted, in all (notice §3)
  max_fee_yen = 1200000,                 -- the largest fee a waiver covers (§4)
}

-- Who is small (§2): fewer than max_employees employees on the day of the
-- application.  Amended from 2025-07-01 (notice amendment No. 1): the
-- threshold rises from 100 to 300 for applications from that day on.
measure "small-provider" {
  title = { ja = "小規模事業者の要件", en = "Small provider threshold" },
  from = "2025-04-01", max_employees = 100,
}
measure "small-provider-amended" {
  title = { ja = "小規模事業者の要件（改正第1号）", en = "Small provider threshold (amendment No. 1)" },
  from = "2025-07-01", max_employees = 300,
}

role "applicant_office" {
  title = { ja = "申請窓口", en = "Applicant office" },
  methods = { "record.get", "record.list", "eval" },
}
role "reviewer" {
  title = { ja = "審査担当", en = "Reviewer" },
  methods = { "record.get", "record.list", "eval", "history", "deadlines" },
}
