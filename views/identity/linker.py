"""Probabilistic scoring with Splink from a committed, trained model JSON.

Production only predicts: parameters come from ``account_model.json`` (or the person
model for FEBRL), trained by ``train.py``. The prior (probability that two random records
match) shrinks as the input grows, so it is rescaled from the training size to the
input's size; everything else is used as trained. The same code scores companies and
people: the model JSON carries the comparisons and blocking rules.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from federation.errors import CatalogError

HERE = Path(__file__).resolve().parent
ACCOUNT_MODEL = HERE / "account_model.json"
PERSON_MODEL = HERE / "person_model.json"
META_KEY = "concord"  # our own block in the model JSON; removed before Splink sees it


@dataclass(frozen=True)
class Model:
    settings: dict[str, Any]
    training_records: int
    path: Path

    def level_labels(self) -> dict[str, dict[int, str]]:
        """Comparison name -> gamma value -> readable level label, for explanations."""
        out: dict[str, dict[int, str]] = {}
        for comp in self.settings.get("comparisons", []):
            name = comp["output_column_name"]
            levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
            labels: dict[int, str] = {-1: "null"}
            for k, lv in enumerate(levels):
                labels[len(levels) - 1 - k] = lv.get("label_for_charts") or lv["sql_condition"]
            out[name] = labels
        return out


def load_model(path: Path) -> Model:
    """Read a trained model JSON; a missing or broken file is a clear configuration error."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogError(f"match model {path} does not exist",
                           hint="run python -m views.identity.train to create it") from exc
    except json.JSONDecodeError as exc:
        raise CatalogError(f"match model {path} is not valid JSON ({exc})",
                           hint="retrain with python -m views.identity.train") from exc
    meta = raw.pop(META_KEY, {})
    if "comparisons" not in raw:
        raise CatalogError(f"match model {path} has no comparisons",
                           hint="retrain with python -m views.identity.train")
    return Model(raw, int(meta.get("training_records", 0)), Path(path))


def predict(con: duckdb.DuckDBPyConnection, table: str, model: Model, n_records: int,
            threshold: float, pairs_table: str | None = None) -> pa.Table:
    """Score the blocked pairs of ``table`` (unique id column ``rid``) with ``model``.

    Pairs come from the model's blocking rules, or from ``pairs_table`` (join_key_l <
    join_key_r, match_key; dedupe only) when the caller generated candidates itself.

    Returns rid_l, rid_r (rid_l < rid_r), match_probability, match_weight and one
    gamma_<comparison> column per comparison, for pairs at or above ``threshold``.
    """
    from splink import DuckDBAPI, Linker  # heavy import: only when scoring

    settings = json.loads(json.dumps(model.settings))
    settings["unique_id_column_name"] = "rid"
    settings["retain_intermediate_calculation_columns"] = True
    settings["retain_matching_columns"] = True
    prior = float(settings.get("probability_two_random_records_match", 1e-4))
    if model.training_records > 1 and n_records > 1:
        prior = prior * (model.training_records - 1) / (n_records - 1)
    settings["probability_two_random_records_match"] = min(max(prior, 1e-12), 0.5)
    logging.getLogger("splink").setLevel(logging.WARNING)
    db_api = DuckDBAPI(connection=con)
    if settings.get("link_type") == "dedupe_only":
        frames = db_api.register(table)
    else:
        frames = [db_api.register(t) for t in table.split(",")]
    linker = Linker(frames, settings, log_level=None)
    if pairs_table is not None:
        linker.table_management.register_blocked_pairs_for_predict(
            db_api.register(pairs_table))
    result = linker.inference.predict(threshold_match_probability=threshold,
                                          warning_mode="never")
    out = result.as_pyarrow_table()
    result.drop_table_from_database_and_remove_from_cache()
    gamma = [c for c in out.column_names if c.startswith(("gamma_", "mw_"))]
    return pa.table({
        "rid_l": out.column("rid_l").cast(pa.int64()),
        "rid_r": out.column("rid_r").cast(pa.int64()),
        "match_probability": out.column("match_probability").cast(pa.float64()),
        "match_weight": out.column("match_weight").cast(pa.float64()),
        **{c: out.column(c) for c in gamma},
    })


def explain(row: dict[str, Any], labels: dict[str, dict[int, str]]) -> str:
    """'name_norm: Exact match on name_norm (+9.1); phone_e164: ...' (nulls left out)."""
    parts = []
    for name, levels in labels.items():
        g = row.get(f"gamma_{name}")
        if g is None or g == -1:
            continue
        weight = (row.get(f"mw_{name}") or 0.0) + (row.get(f"mw_tf_adj_{name}") or 0.0)
        parts.append(f"{name}: {levels.get(int(g), g)} ({weight:+.1f})")
    return "; ".join(parts)
