-- eval of one application: §1 the window, §2 the threshold and its
-- amendment, §4 the fee limit.

case "a small provider within the window is eligible" {
  kind = "waiver", at = "2025-05-01", data = waiver(1), expect = "eligible",
  in_force = { "application-window", "small-provider" }, not_in_force = { "small-provider-amended" },
}

case "§1 an application dated before the window is not" {
  at = "2025-05-01", data = waiver(1, { applied_on = "2025-03-31" }),
  expect = "ineligible", fails = { "W1" }, reasons = { W1 = "outside the window" },
}

case "§1 the last day of the window is within it" {
  at = "2025-09-30T23:59+09:00", data = waiver(1, { applied_on = "2025-09-30" }), expect = "eligible",
}

case "§2 before the amendment: 150 employees is over the threshold of 100" {
  at = "2025-06-30", data = waiver(1, { employees = 150, applied_on = "2025-06-30" }),
  expect = "ineligible", fails = { "W2" }, reasons = { W2 = "threshold is 100" },
}

case "§2 amendment No. 1: from 2025-07-01 the threshold is 300" {
  at = "2025-07-01", data = waiver(1, { employees = 150, applied_on = "2025-07-01" }),
  expect = "eligible", in_force = { "small-provider-amended" },
}

case "§2 the amendment applies by the day of application, not the day of judgement" {
  at = "2025-08-01", data = waiver(1, { employees = 150, applied_on = "2025-06-30" }),
  expect = "ineligible", fails = { "W2" },
}

case "§2 the amended threshold is a limit too" {
  at = "2025-08-01", data = waiver(1, { employees = 301, applied_on = "2025-08-01" }),
  expect = "ineligible", fails = { "W2" }, reasons = { W2 = "300 人以下" },
}

case "§4 a fee over the limit is not waived" {
  at = "2025-05-01", data = waiver(1, { fee_yen = 1200001 }),
  expect = "ineligible", fails = { "W3" }, reasons = { W3 = "1200000" },
}
