-- wrk script: POST /api/v1/transactions round-robin over ACCOUNTS (comma separated), dated DATE,
-- as TOKEN. Used by scripts/bench/ledger.sh.
local accounts = {}
for id in string.gmatch(os.getenv("ACCOUNTS"), "[^,]+") do
  table.insert(accounts, id)
end
local date = os.getenv("DATE")
local headers = {
  ["content-type"] = "application/json",
  ["authorization"] = "Bearer " .. os.getenv("TOKEN"),
}
local n = 0

request = function()
  n = n + 1
  local body = string.format(
    '{"account_id":"%s","amount":"-1.25","date":"%s","description":"bench %d"}',
    accounts[(n % #accounts) + 1], date, n)
  return wrk.format("POST", "/api/v1/transactions", headers, body)
end
