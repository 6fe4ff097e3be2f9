-- Helpers shared by the pack's tests.  The files in tests/ are loaded in name
-- order into one table of globals (which falls back to the pack's globals), so
-- what is defined here is visible in every later test file.

CRIT = CRITERIA["2022-04-01"]

-- Every identifier of the 2022-04-01 criteria, in the order of the CSV parts.
ALL_IDS = {}
for _, list in ipairs({ CRIT.governance, CRIT.management, CRIT.objectives }) do
  for _, id in ipairs(list) do ALL_IDS[#ALL_IDS + 1] = id end
end
B_IDS = {}
for _, b in ipairs(CRIT.b_controls) do
  ALL_IDS[#ALL_IDS + 1] = b.id
  B_IDS[#B_IDS + 1] = b.id
end

-- A complete, eligible application (at any time from 2023-06-15 to the end of
-- the period): every one of the 261 identifiers stated "met".  `over` replaces
-- top-level fields.
function good_app(over)
  local controls = {}
  for _, id in ipairs(ALL_IDS) do controls[id] = "met" end
  -- a test that names a control the criteria do not have is an error
  strict(controls, ALL_IDS, "control of the 2022-04-01 criteria")
  local app = {
    service_name = "クラウド会計SaaS",
    provider_name = "株式会社テスト",
    provider_corporate_number = "7000012050002",
    impact_assessment = { assessor = "デジタル庁", assessor_type = "national_agency", route = "agency",
                          result = "low", assessed_on = "2023-06-01" },
    statement = { criteria_version = "2022-04-01", stated_on = "2023-06-10", controls = controls },
    pledge = { submitted_on = "2023-06-15" },
    planned_liu_application = "2025-03",   -- the last month of the period: never past within it
    certifications = { { name = "ISO/IEC 27001", valid_until = "2026-03-31" } },
  }
  for k, v in pairs(over or {}) do app[k] = v end
  return app
end

-- good_app() changed by fn: app_with(function (a) a.pledge = nil end)
function app_with(fn)
  local a = good_app()
  fn(a)
  return a
end

-- An application whose dates are all before the period (eligible from its first instant).
function early_app()
  return app_with(function (a)
    a.impact_assessment.assessed_on = "2023-05-01"
    a.statement.stated_on = "2023-05-10"
    a.pledge.submitted_on = "2023-05-19"    -- a pledge under the measure: not before it
  end)
end

-- The reason of check `id` in an eval result.
function reason_of(res, id)
  for _, c in ipairs(res.checks) do if c.id == id then return c.reason end end
  error("no check " .. id)
end

-- The identifiers listed in parentheses by a failing R3, as a sorted text.
function listed_ids(res)
  local r = reason_of(res, "R3").en
  local ids = {}
  for group in r:gmatch("%(([^)]*)%)") do
    for id in group:gmatch("[^,%s]+") do ids[#ids + 1] = id end
  end
  table.sort(ids)
  return table.concat(ids, ",")
end

-- assert-like: fails the test with a message.
function expect_eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %s, want %s", what or "value", tostring(got), tostring(want)), 2)
  end
  return true
end

-- assert-like: the text contains the needle.
function has(hay, needle)
  if not hay:find(needle, 1, true) then
    error(string.format("%q does not contain %q", hay, needle), 2)
  end
  return true
end

-- Steps that bring a new record into `state`, and the time they end at.
-- Within the period unless the state needs the period's end.
function steps_to(state)
  local s = { { at = "2024-01-01", act = "submit", as = "secretariat", params = good_app(), state = "submitted" } }
  if state == "confirmed" or state == "ended" then
    s[#s + 1] = { act = "confirm", as = "secretariat", state = "confirmed" }
  elseif state == "rejected" then
    s[#s + 1] = { act = "reject", as = "secretariat", params = { reason = "要件不備" }, state = "rejected" }
  elseif state == "withdrawn" then
    s[#s + 1] = { act = "withdraw", as = "secretariat", state = "withdrawn" }
  end
  if state == "lapsed" or state == "ended" then
    s[#s + 1] = { at = "2025-04-01T00:00+09:00", enforce = true, state = state }
  end
  return s
end

-- A scenario from a list of step lists.
function scenario_of(name, ...)
  local spec = {}
  for _, list in ipairs({ ... }) do
    for _, step in ipairs(list) do spec[#spec + 1] = step end
  end
  scenario(name)(spec)
end
