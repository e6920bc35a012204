"""Load for scripts/load/run.sh: users doing mixed reads and writes across Nestegg instances.

Each `MixedUser` signs up, logs in, opens two checking accounts and then, with no pause, picks a
request by weight: reports (cached overview, weekly history, cash flow), lists (accounts, a page
of transactions) and writes (create a transaction, change its amount or post it, delete it),
each time on one of the instances in NESTEGG_LOAD_BASES chosen at random. Every write the
server acknowledged (2xx) is kept, and written to NESTEGG_LOAD_LEDGER when the run ends, for
check.py. A write is unknown until it is acknowledged, so one
without an answer (or cut off by the end of the run) stays unknown. Any 5xx makes the run fail.

`LiveUser` only asks GET /health/live: the baseline of the same tool, users and machine.
"""

import datetime
import json
import os
import random
import uuid
from decimal import Decimal

from locust import FastHttpUser, constant, events, task

BASES = os.environ["NESTEGG_LOAD_BASES"].split(",")
LEDGER = os.environ.get("NESTEGG_LOAD_LEDGER", "ledger.json")
PASSWORD = "load test password"
TODAY = datetime.date.today()

# What every user's acknowledged writes left: transaction id -> state (None: deleted), the
# accounts with their opening balances, and what got no answer.
LEDGER_STATE = {"accounts": {}, "transactions": {}, "unknown_ids": set(), "unknown_creates": {}}
SERVER_ERRORS = {"count": 0, "examples": []}


def base():
    return random.choice(BASES)


def amount():
    cents = random.randint(1, 500_000) * random.choice([1, 1, 1, -1])
    return str(Decimal(cents) / 100)


def recent_date():
    return (TODAY - datetime.timedelta(days=random.randint(0, 90))).isoformat()


class LiveUser(FastHttpUser):
    """The baseline: liveness only."""

    wait_time = constant(0)
    host = BASES[0]

    @task
    def live(self):
        self.get_checked("/health/live", "GET /health/live")

    def get_checked(self, path, name):
        with self.client.get(base() + path, name=name, catch_response=True) as r:
            judge(r, 200)


def judge(response, *expected):
    """Marks the response failed unless its status is one of `expected`; counts 5xx."""
    if response.status_code >= 500:
        SERVER_ERRORS["count"] += 1
        if len(SERVER_ERRORS["examples"]) < 10:
            SERVER_ERRORS["examples"].append(
                f"{response.request_meta['name']}: {response.status_code} {response.text[:200]}"
            )
    if response.status_code in expected:
        response.success()
        return True
    response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
    return False


class MixedUser(FastHttpUser):
    """A user of the API: reads and writes on their own accounts."""

    wait_time = constant(0)
    host = BASES[0]

    def on_start(self):
        name = "u" + uuid.uuid4().hex[:12]
        body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
        with self.client.post(
            base() + "/api/v1/auth/register", json=body, name="POST /auth/register",
            catch_response=True,
        ) as r:
            judge(r, 201)
        with self.client.post(
            base() + "/api/v1/auth/login", json={"login": name, "password": PASSWORD},
            name="POST /auth/login", catch_response=True,
        ) as r:
            if not judge(r, 200):
                raise RuntimeError("login failed")
            self.auth = {"authorization": "Bearer " + r.json()["access_token"]}
        self.accounts = []
        opened_on = (TODAY - datetime.timedelta(days=120)).isoformat()
        for n in range(2):
            opening = amount().lstrip("-")
            with self.client.post(
                base() + "/api/v1/accounts", headers=self.auth, name="POST /accounts",
                json={"name": f"Checking {n}", "type": "checking", "current_balance": opening,
                      "opened_on": opened_on},
                catch_response=True,
            ) as r:
                if not judge(r, 201):
                    raise RuntimeError("account not created")
                account = r.json()["id"]
                self.accounts.append(account)
                LEDGER_STATE["accounts"][account] = opening
        # This user's live transactions: id -> (account, amount, pending).
        self.live = {}

    def get(self, path, name):
        with self.client.get(base() + path, headers=self.auth, name=name,
                             catch_response=True) as r:
            judge(r, 200)

    @task(4)
    def overview(self):
        self.get("/api/v1/overview", "GET /overview")

    @task(1)
    def history(self):
        start = (TODAY - datetime.timedelta(days=90)).isoformat()
        self.get(f"/api/v1/overview/history?interval=week&from={start}",
                 "GET /overview/history")

    @task(1)
    def cashflow(self):
        self.get("/api/v1/cashflow?group_by=category", "GET /cashflow")

    @task(2)
    def accounts_list(self):
        self.get("/api/v1/accounts", "GET /accounts")

    @task(3)
    def transactions_page(self):
        account = random.choice(self.accounts)
        self.get(f"/api/v1/transactions?limit=50&account_id={account}",
                 "GET /transactions")

    @task(4)
    def create(self):
        account = random.choice(self.accounts)
        value, pending = amount(), random.random() < 0.2
        body = {"account_id": account, "amount": value, "date": recent_date(),
                "description": "load", "merchant_name": "Acme", "category": "shopping",
                "is_pending": pending}
        # Unknown until acknowledged (the run may end while it is in flight).
        unknown = LEDGER_STATE["unknown_creates"]
        unknown[account] = unknown.get(account, 0) + 1
        with self.client.post(base() + "/api/v1/transactions", json=body,
                              headers=self.auth, name="POST /transactions",
                              catch_response=True) as r:
            if judge(r, 201):
                tid = r.json()["id"]
                self.live[tid] = (account, value, pending)
                LEDGER_STATE["transactions"][tid] = {
                    "account": account, "amount": value, "pending": pending}
                unknown[account] -= 1

    @task(1)
    def update(self):
        if not self.live:
            return
        tid = random.choice(list(self.live))
        account, value, pending = self.live[tid]
        if pending:
            change, after = {"is_pending": False}, (account, value, False)
        else:
            new = amount()
            change, after = {"amount": new}, (account, new, False)
        self.write(tid, "PATCH", "PATCH /transactions/{id}", change, after)

    @task(1)
    def delete(self):
        if not self.live:
            return
        tid = random.choice(list(self.live))
        self.write(tid, "DELETE", "DELETE /transactions/{id}", None, None)

    def write(self, tid, method, name, body, after):
        expected = 200 if method == "PATCH" else 204
        # Unknown until acknowledged (the run may end while it is in flight); a write that
        # fails leaves it unknown, and this user leaves it alone from then on.
        self.live.pop(tid)
        LEDGER_STATE["unknown_ids"].add(tid)
        with self.client.request(method, f"{base()}/api/v1/transactions/{tid}",
                                 json=body, headers=self.auth, name=name,
                                 catch_response=True) as r:
            if judge(r, expected):
                LEDGER_STATE["unknown_ids"].discard(tid)
                if after is None:
                    LEDGER_STATE["transactions"][tid] = None
                else:
                    self.live[tid] = after
                    LEDGER_STATE["transactions"][tid] = {
                        "account": after[0], "amount": after[1], "pending": after[2]}


@events.quitting.add_listener
def _write_ledger(environment, **_kwargs):
    if environment.runner is not None and any(
        u.__name__ == "MixedUser" for u in environment.runner.user_classes
    ):
        with open(LEDGER, "w") as f:
            json.dump({**LEDGER_STATE, "unknown_ids": sorted(LEDGER_STATE["unknown_ids"])}, f)
    if SERVER_ERRORS["count"]:
        print(f"5xx answers: {SERVER_ERRORS['count']}")
        for example in SERVER_ERRORS["examples"]:
            print("  " + example)
        environment.process_exit_code = 1
    else:
        print("5xx answers: 0")
