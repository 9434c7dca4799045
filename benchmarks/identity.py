"""Identity resolution at 150,000 source accounts: wall time and peak memory.

    .venv/bin/python -m benchmarks.identity                 # ~150k accounts (scale 58)
    .venv/bin/python -m benchmarks.identity --scale 5       # quicker

The accounts are the sandbox company's own: the generator at ``--scale`` (1.0 = 1,000
customers, ~2,600 account records across the eight systems, with the projections'
duplicates, name variants, missing fields and formats) is projected into every system,
``views/source_accounts.sql`` runs over the systems' tables in DuckDB, and the result is
written to a temporary Parquet file. A fresh process then reads it and runs
``resolve_accounts`` (deterministic keys + the committed Splink model + clustering), so
the peak resident memory measured (``ru_maxrss``) is identity resolution's alone, not the
generator's. Pairwise precision/recall against the generator's crosswalk are reported too.
No network.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SEED = 3


def generate(scale: float, path: Path) -> int:
    from views.identity.train import _truth_accounts

    accounts, labels = _truth_accounts(SEED, scale)
    pq.write_table(accounts.append_column("truth_id", pa.array(labels, pa.string())), path)
    return accounts.num_rows


def measure(path: Path) -> dict:
    """Run in a fresh process: time and peak RSS of resolve_accounts on ``path``."""
    from views.identity import resolve_accounts

    table = pq.read_table(path)
    truth = table.column("truth_id").to_pylist()
    accounts = table.drop_columns(["truth_id"])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = resolve_accounts(accounts, overrides=[])
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cid = result.xref.column("customer_id").to_pylist()
    keys = list(zip(result.xref.column("source_system").to_pylist(),
                    result.xref.column("source_account_id").to_pylist(), strict=True))
    truth_of = dict(zip(zip(accounts.column("source_system").to_pylist(),
                            accounts.column("source_account_id").to_pylist(), strict=True),
                        truth, strict=True))
    got_groups, want_groups = defaultdict(list), defaultdict(list)
    for k, c in zip(keys, cid, strict=True):
        got_groups[c].append(k)
        want_groups[truth_of[k]].append(k)

    def pairs(groups: dict) -> set:
        return {p for g in groups.values() for p in itertools.combinations(sorted(g), 2)}

    got, want = pairs(got_groups), pairs(want_groups)
    decisions = defaultdict(int)
    for d in result.pairs.column("decision").to_pylist():
        decisions[d] += 1
    return {
        "records": accounts.num_rows,
        "customers_found": len(got_groups),
        "customers_true": len(want_groups),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_mb, 0),
        "rss_before_mb": round(rss_before / 1024, 0),
        "pairs": result.pairs.num_rows,
        "decisions": dict(decisions),
        "precision": round(len(got & want) / max(1, len(got)), 4),
        "recall": round(len(got & want) / max(1, len(want)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=58.0)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.parquet"
        start = time.perf_counter()
        n = generate(args.scale, path)
        print(f"generated {n:,} source accounts at scale {args.scale} in "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
        out = subprocess.run([sys.executable, "-m", "benchmarks.identity", "--measure",
                              str(path)], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["scale"] = args.scale
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
