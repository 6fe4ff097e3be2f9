-- ISMAP-LIU 登録促進のための特別措置 (notice of 令和5年5月19日)
-- The pack's identity and the measures of the notice, with their periods.
-- Changing a period is a one-line edit here plus `liuctl rules reload`.

pack {
  name = "ismap-liu",
  version = "2023-05-19",
  title = { ja = "ISMAP-LIU 登録促進のための特別措置", en = "ISMAP-LIU registration special measure" },
}

-- 運用期間: 令和5年5月19日から令和7年3月末まで (through 2025-03-31, JST).
measure "special-measure" {
  title = { ja = "特別措置（運用期間）", en = "Special measure (operating period)" },
  temporary = true, from = "2023-05-19", till = "2025-03-31",
}
