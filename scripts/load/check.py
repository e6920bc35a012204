"""After a load run: every acknowledged write is in the database as acknowledged, and every
account's balance (and its latest balance point) is its opening balance plus its posted
transactions, exactly (PostgreSQL's NUMERIC, compared as decimals).

Usage: python3 check.py LEDGER.json DATABASE (psql as postgres@127.0.0.1). Exits 1 on any
difference, naming it.
"""

import json
import subprocess
import sys
from decimal import Decimal


def rows(database, sql):
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
         "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-c", sql],
        check=True, capture_output=True, text=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def main():
    ledger_path, database = sys.argv[1], sys.argv[2]
    with open(ledger_path) as f:
        ledger = json.load(f)
    problems = []

    stored = {
        tid: (account, Decimal(amount), pending == "t")
        for tid, account, amount, pending in rows(
            database,
            "SELECT id, account_id, amount::text, is_pending FROM transactions",
        )
    }
    unknown = set(ledger["unknown_ids"])
    acknowledged = deleted = 0
    for tid, state in ledger["transactions"].items():
        if tid in unknown:
            continue
        if state is None:
            deleted += 1
            if tid in stored:
                problems.append(f"transaction {tid} was deleted (204) but is still there")
            continue
        acknowledged += 1
        want = (state["account"], Decimal(state["amount"]), state["pending"])
        if stored.get(tid) != want:
            problems.append(f"transaction {tid}: acknowledged {want}, stored {stored.get(tid)}")
    known = set(ledger["transactions"])
    extra = {}
    for tid, (account, _, _) in stored.items():
        if tid not in known:
            extra[account] = extra.get(account, 0) + 1
    for account, n in extra.items():
        allowed = ledger["unknown_creates"].get(account, 0)
        if n > allowed:
            problems.append(f"account {account}: {n} transactions nobody acknowledged "
                            f"({allowed} creates got no answer)")

    accounts = rows(
        database,
        """
        SELECT a.id, a.opening_balance::text, a.current_balance::text,
               COALESCE((SELECT SUM(t.amount) FROM transactions t
                         WHERE t.account_id = a.id AND NOT t.is_pending), 0)::text,
               (SELECT s.balance FROM balance_snapshots s WHERE s.account_id = a.id
                ORDER BY s.date DESC LIMIT 1)::text
        FROM accounts a
        """,
    )
    for account, opening, current, posted, latest in accounts:
        expected = Decimal(opening) + Decimal(posted)
        if Decimal(current) != expected:
            problems.append(f"account {account}: balance {current}, opening {opening} + "
                            f"posted {posted} = {expected}")
        if latest and Decimal(latest) != Decimal(current):
            problems.append(f"account {account}: latest balance point {latest}, "
                            f"balance {current}")
        want_opening = ledger["accounts"].get(account)
        if want_opening is not None and Decimal(want_opening) != Decimal(opening):
            problems.append(f"account {account}: opened with {want_opening}, holds {opening}")
    missing = set(ledger["accounts"]) - {a[0] for a in accounts}
    problems.extend(f"account {a} was acknowledged but is missing" for a in sorted(missing))

    print(f"check: {acknowledged} acknowledged transactions present as acknowledged, "
          f"{deleted} acknowledged deletions absent, {len(unknown) + sum(ledger['unknown_creates'].values())} writes without an answer "
          f"skipped; {len(accounts)} accounts checked: balance = opening + posted, exactly")
    for p in problems[:50]:
        print("  " + p)
    if problems:
        print(f"check FAILED: {len(problems)} differences")
        sys.exit(1)
    print("check passed")


if __name__ == "__main__":
    main()
