-- What the application would have written for transactions seeded straight into PostgreSQL:
-- each account opens on its creation day or its earliest transaction's date, its current
-- balance is the opening balance plus its posted transactions' effects, and it has one balance
-- point per date where its balance changed (the same rule as migration m20261126_000004).
UPDATE accounts SET opened_on = LEAST((created_at AT TIME ZONE 'UTC')::date,
  COALESCE((SELECT MIN(t.date) FROM transactions t WHERE t.account_id = accounts.id), CURRENT_DATE));
UPDATE accounts SET current_balance = opening_balance + COALESCE((SELECT SUM(CASE WHEN accounts.type IN ('credit_card','loan','mortgage') THEN -t.amount ELSE t.amount END)
  FROM transactions t WHERE t.account_id = accounts.id AND NOT t.is_pending), 0);
DELETE FROM balance_snapshots;
INSERT INTO balance_snapshots (id, account_id, date, balance, available_balance, currency, created_at, updated_at)
SELECT gen_random_uuid(), e.account_id, e.date, SUM(e.delta) OVER (PARTITION BY e.account_id ORDER BY e.date),
       NULL, 'USD', now(), now()
FROM (SELECT x.account_id, x.date, SUM(x.delta) AS delta FROM (
        SELECT id AS account_id, opened_on AS date, opening_balance AS delta FROM accounts
        UNION ALL
        SELECT t.account_id, t.date, CASE WHEN a.type IN ('credit_card','loan','mortgage') THEN -t.amount ELSE t.amount END
        FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE NOT t.is_pending) x
      GROUP BY x.account_id, x.date) e;
VACUUM ANALYZE balance_snapshots;
