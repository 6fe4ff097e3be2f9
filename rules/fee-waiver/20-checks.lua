-- What makes an application eligible (§1, §2, §4), judged by eval.

check "W1" {
  title = { ja = "受付期間内の申請であること", en = "Applied within the window" },
  function (app, at, rec)
    if not within("application-window", app.applied_on) then
      return fail { ja = "申請日が受付期間（2025年4月1日～9月30日）の外です",
                    en = "the application date is outside the window (2025-04-01 to 2025-09-30)" }
    end
    return pass()
  end,
}

check "W2" {
  title = { ja = "小規模事業者であること", en = "Small provider" },
  function (app, at, rec)
    local max = max_employees_on(app.applied_on)
    if math.type(app.employees) ~= "integer" or app.employees > max then
      return fail { ja = ("申請日の従業員数 %s 人が基準（%d 人以下）を超えています"):format(tostring(app.employees), max),
                    en = ("%s employees on the day of application; the threshold is %d"):format(tostring(app.employees), max) }
    end
    return pass()
  end,
}

check "W3" {
  title = { ja = "免除の対象となる手数料であること", en = "Fee within the waiver's limit" },
  function (app, at, rec)
    local max = measure_of("application-window").max_fee_yen
    if math.type(app.fee_yen) ~= "integer" or app.fee_yen > max then
      return fail { ja = ("手数料 %s 円が免除の上限（%d 円）を超えています"):format(tostring(app.fee_yen), max),
                    en = ("the fee of %s yen is over the waiver's limit of %d yen"):format(tostring(app.fee_yen), max) }
    end
    return pass()
  end,
}
