-- A valid application of provider n (1, 2, …): corporate number 100000000000n.
function waiver(n, over)
  local app = { provider_id = ("%013d"):format(1000000000000 + n), provider_name = "事業者" .. n,
                employees = 40, fee_yen = 300000, applied_on = "2025-05-01" }
  for k, v in pairs(over or {}) do app[k] = v end
  return app
end
