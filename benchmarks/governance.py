"""Planning overhead of governance: the same queries planned (uncached) without a policy
and behind a role with grants, masks and row filters, side by side in one run.

    .venv/bin/python -m benchmarks.governance [--repeat 5]

Goal: policy rewriting adds under 10% to planning time. Planning only (parse, grants,
view expansion, guards, binding, qualification, pushdown); nothing is fetched.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.planner import plan_query
from federation.policy import Guard
from sandbox.run import start_sandbox

QUERIES = [
    "SELECT Id, Email, Phone FROM salesforce.Contact WHERE LastName LIKE 'A%'",
    "SELECT a.Name, count(*) FROM salesforce.Opportunity o JOIN salesforce.Account a "
    "ON o.AccountId = a.Id WHERE o.Amount > 50000 GROUP BY 1",
    "WITH c AS (SELECT * FROM salesforce.Contact) SELECT count(*) FROM c "
    "WHERE Email LIKE '%.com'",
    "SELECT customer_id, email, phone, region FROM customer_360 WHERE region = 'EMEA'",
    "SELECT * FROM pipeline_summary WHERE fiscal_year = 2026",
    "SELECT count(*) FROM opportunities WHERE is_closed",
]
MAX_ROUNDS = 200
ROLE = {
    "grants": ["public.*", "salesforce.*", "hubspot.*", "dynamics.*"],
    "masks": {"*.email": "email", "*.phone": "phone", "salesforce.Account.AnnualRevenue":
              "null"},
    "row_filters": {"salesforce.Account": "BillingCountry IN ('Germany', 'France')",
                    "salesforce.Opportunity": "Amount >= 0",
                    "public.customer_360": "region = 'EMEA'"},
}


def planning_ms(runs: list[tuple[Federation, str | None]], sql: str, repeat: int
                ) -> list[float]:
    """Median uncached planning time of ``sql`` under each (federation, user), the
    configurations interleaved in every round so drift on a shared machine hits all alike.
    Quick queries get more rounds (about two seconds' worth), since a few milliseconds
    are at the mercy of any neighbour."""
    guards = [(fed, fed.guard(user)) for fed, user in runs]

    def once(fed: Federation, guard: Guard | None) -> float:
        started = time.perf_counter()
        plan_query(sql, fed, fed.local, views=fed.views, guard=guard)  # uncached
        return (time.perf_counter() - started) * 1000

    first = max(once(fed, guard) for fed, guard in guards)  # also warms each path
    rounds = max(repeat, min(MAX_ROUNDS, int(2000 / first)))
    samples: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for (fed, guard), times in zip(guards, samples, strict=True):
            times.append(once(fed, guard))
    return [statistics.median(times) for times in samples]


def _warm(fed: Federation, user: str | None) -> None:
    for source in ("salesforce", "hubspot", "dynamics"):
        fed.tables(source)
    fed.sql("SELECT count(*) FROM customer_360", user=user)  # discovery and identity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds at least (quick "
                        "queries get more)")
    args = parser.parse_args()
    box = start_sandbox(seed=42, scale=0.2, port_base=0)
    try:
        governed = box.catalog()
        governed["governance"] = {"users": {"open": {"role": "everything"},
                                            "guarded": {"role": "guarded"}},
                                  "roles": {"everything": {"grants": ["*"]},
                                            "guarded": ROLE}}
        with Federation(parse_catalog(box.catalog(), base_dir=Path("."))) as plain, \
                Federation(parse_catalog(governed, base_dir=Path("."))) as fed:
            _warm(plain, None)
            _warm(fed, "open")
            print("| query | no policy (ms) | grants only (ms) | grants, masks, filters (ms) "
                  "| overhead |")
            print("| --- | --- | --- | --- | --- |")
            overheads = []
            for sql in QUERIES:
                bare, granted, guarded = planning_ms(
                    [(plain, None), (fed, "open"), (fed, "guarded")], sql, args.repeat)
                overheads.append(guarded / bare - 1)
                print(f"| `{sql[:60]}` | {bare:.1f} | {granted:.1f} | {guarded:.1f} | "
                      f"{(guarded / bare - 1) * 100:+.1f}% |")
            print(f"\nmedian overhead: {statistics.median(overheads) * 100:+.1f}%")
    finally:
        box.stop()


if __name__ == "__main__":
    main()
