-- What the offices do: apply and withdraw (applicant office), grant and
-- reject (reviewer).

action "apply" {
  title = { ja = "免除の申請", en = "Apply for a waiver" },
  kind = "waiver", roles = { "applicant_office" }, creates = true, to = "submitted",
  run = function (app, params, at, rec)
    if not in_force("application-window", at) then
      refuse { ja = "受付期間（2025年4月1日～9月30日）外のため申請できません",
               en = "applications are taken from 2025-04-01 to 2025-09-30 only" }
    end
  end,
}

action "amend" {
  title = { ja = "申請内容の訂正", en = "Correct the application" },
  kind = "waiver", roles = { "applicant_office" }, from = { "submitted" },
  run = function (app, params, at, rec)
    for k, v in pairs(params) do app[k] = v end     -- validation judges what changed
  end,
}

action "withdraw" {
  title = { ja = "申請の取下げ", en = "Withdraw the application" },
  kind = "waiver", roles = { "applicant_office" }, from = { "submitted" }, to = "withdrawn",
}

action "grant" {
  title = { ja = "免除の決定", en = "Grant the waiver" },
  kind = "waiver", roles = { "reviewer" }, from = { "submitted" }, to = "granted",
  run = function (app, params, at, rec)
    local ok = evaluate(rec, at)
    if not ok then
      refuse { ja = "免除の要件を満たしていません", en = "the application does not meet the requirements" }
    end
    -- §3: at most `cap` waivers in all, counted over every application,
    -- those being granted at this moment included.
    local cap = measure_of("application-window").cap
    if count("waiver", { "granted" }) >= cap then
      refuse { ja = ("免除の件数が上限（%d 件）に達しています"):format(cap),
               en = ("the cap of %d waivers has been reached"):format(cap) }
    end
    emit("granted", { on = date_of(at) })
  end,
}

action "reject" {
  title = { ja = "不承認", en = "Reject the application" },
  kind = "waiver", roles = { "reviewer" }, from = { "submitted" }, to = "rejected",
  run = function (app, params, at, rec)
    if type(params.reason) ~= "string" or params.reason == "" then
      invalid("reason", "不承認の理由を記入してください", "give the reason for the rejection")
    end
    app.rejection_reason = params.reason
  end,
}
