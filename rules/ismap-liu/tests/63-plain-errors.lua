-- The field errors an applicant reads (issue 21, 「Messages an official would
-- sign」): the field named once, the value quoted as a person quotes it, the
-- reason and what is allowed, in Japanese and in English prose (no code
-- quotes, no 「…は…は」).

local function refused(name, fn, field, reason)
  scenario(name) {
    at = "2024-03-01",
    { act = "submit", as = "secretariat", params = app_with(fn), expect = "invalid", field = field, reason = reason },
  }
end

refused("an impact result not among the choices: English names the value in quotes",
  function (a) a.impact_assessment.result = "middle" end,
  "impact_assessment.result", 'must be low, moderate or high, not "middle"')
refused("an impact result not among the choices: Japanese names the field once and lists the choices",
  function (a) a.impact_assessment.result = "middle" end,
  "impact_assessment.result",
  "影響度評価の結果は low（低位）、moderate（中位）、high（高位）のいずれかを記入してください（「middle」は選択肢にありません）")
refused("a route not among the choices reads as English",
  function (a) a.impact_assessment.route = "xyz" end,
  "impact_assessment.route", 'or consultation_desk (the ISMAP-LIU consultation desk), not "xyz"')
refused("a planned month that does not exist: the value, the form and the cause (English)",
  function (a) a.planned_liu_application = "2024-13" end,
  "planned_liu_application", '"2024-13" is not a month (YYYY-MM) or a date: no such month')
refused("a planned month that does not exist: the value, the form and the cause (Japanese)",
  function (a) a.planned_liu_application = "2024-13" end,
  "planned_liu_application",
  "ISMAP-LIU 申請（事前申請を含む）の予定時期は年月（YYYY-MM）または日付として読めません（「2024-13」: 存在しない月です）")
refused("a planned month that is no month at all",
  function (a) a.planned_liu_application = "soon" end,
  "planned_liu_application", '"soon" is not a month (YYYY-MM) or a date (e.g. 2024-10)')
