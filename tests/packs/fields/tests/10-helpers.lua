local function entry(o)
  local e = { code = "A", kind = "new", month = "2024-05", office = { name = "総務課", since = "2024-07-01" }, tags = { "a", "b", "c" } }
  for k, v in pairs(o or {}) do e[k] = v end
  return e
end
case "all met" { at = "2024-05-01", data = entry(), expect = "eligible" }
case "a month that ends before the window" { at = "2024-05-01", data = entry { month = "2024-03" }, fails = { "C1" } }
case "a month that overlaps the window's last day" { at = "2024-05-01", data = entry { month = "2024-09" }, expect = "eligible" }
case "a month after the window" { at = "2024-05-01", data = entry { month = "2024-10" }, fails = { "C1" } }
case "a day within the window" { at = "2024-05-01", data = entry { month = "2024-09-30" }, expect = "eligible" }
case "renewal allowed once the measure is in force" {
  at = "2024-05-01", data = entry { kind = "renewal" }, expect = "eligible" }
case "renewal not allowed before it: the list then is named" {
  at = "2024-05-01", data = entry { kind = "renewal", office = { name = "x", since = "2024-06-30" } },
  fails = { "C2" }, reasons = { C2 = "allowed: new" } }
case "the ids left unstated, in order" {
  at = "2024-05-01", data = entry { tags = { "c" } }, fails = { "C3" }, reasons = { C3 = "missing: a, b" } }
