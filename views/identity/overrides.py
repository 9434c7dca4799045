"""Steward overrides: pairs a person decided, which win over every matcher decision.

The file is a CSV (or YAML list) a data steward maintains next to the catalog::

    kind,source_system_l,source_account_id_l,source_system_r,source_account_id_r,note,decided_at
    must_link,salesforce,0015g00000001AAA,netsuite,1042,same company (checked D&B),2026-05-01
    cannot_link,hubspot,1000000012,dynamics,6f1c...,parent and subsidiary,

``kind`` is ``must_link`` (merge the two records) or ``cannot_link`` (keep them in
different customers even if keys agree). ``note`` and ``decided_at`` are optional.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from federation.errors import CatalogError

KINDS = ("must_link", "cannot_link")
_FIELDS = ("kind", "source_system_l", "source_account_id_l", "source_system_r",
           "source_account_id_r")


@dataclass(frozen=True)
class Override:
    """One steward decision about a pair of source account records."""

    kind: str  # "must_link" | "cannot_link"
    source_system_l: str
    source_account_id_l: str
    source_system_r: str
    source_account_id_r: str
    note: str = ""
    decided_at: dt.datetime | None = None

    @property
    def left(self) -> tuple[str, str]:
        return (self.source_system_l, self.source_account_id_l)

    @property
    def right(self) -> tuple[str, str]:
        return (self.source_system_r, self.source_account_id_r)


def _parse_time(value: Any, where: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise CatalogError(f"{where}: decided_at {value!r} is not an ISO date or timestamp",
                           hint="write it as 2026-05-01 or 2026-05-01T09:30:00Z") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _row(raw: dict[str, Any], where: str) -> Override:
    missing = [f for f in _FIELDS if not str(raw.get(f) or "").strip()]
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(missing)}",
                           hint="every override names its kind and both records "
                                "(source_system, source_account_id)")
    kind = str(raw["kind"]).strip().lower()
    if kind not in KINDS:
        raise CatalogError(f"{where}: kind {raw['kind']!r} is neither must_link nor "
                           "cannot_link", hint="use must_link or cannot_link")
    left = (str(raw["source_system_l"]).strip(), str(raw["source_account_id_l"]).strip())
    right = (str(raw["source_system_r"]).strip(), str(raw["source_account_id_r"]).strip())
    if left == right:
        raise CatalogError(f"{where}: both sides name the same record {left[0]}/{left[1]}",
                           hint="an override links two different records")
    return Override(kind, *left, *right, note=str(raw.get("note") or "").strip(),
                    decided_at=_parse_time(raw.get("decided_at"), where))


def load_overrides(path: Path) -> list[Override]:
    """Read a steward's override file (CSV with a header row, or a YAML list of mappings).

    Bad rows fail loudly with the file and line: a silently skipped cannot_link would
    merge two customers a person already said are different.
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"overrides file {path} does not exist",
                           hint="create it or remove it from the configuration")
    out: list[Override] = []
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path}: not valid YAML ({exc})",
                               hint="fix the file's syntax") from exc
        if not isinstance(data, list):
            raise CatalogError(f"{path}: expected a list of overrides",
                               hint="write one '- kind: ...' mapping per override")
        for n, item in enumerate(data, 1):
            if not isinstance(item, dict):
                raise CatalogError(f"{path}: override {n} is not a mapping",
                                   hint="write kind, source_system_l, ... as keys")
            out.append(_row(item, f"{path}: override {n}"))
    else:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            absent = [f for f in _FIELDS if f not in header]
            if absent:
                raise CatalogError(f"{path}:1: header lacks {', '.join(absent)}",
                                   hint="the header is kind,source_system_l,"
                                        "source_account_id_l,source_system_r,"
                                        "source_account_id_r[,note][,decided_at]")
            for row in reader:
                if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    continue  # blank line
                out.append(_row(row, f"{path}:{reader.line_num}"))
    seen: dict[frozenset, tuple[int, str]] = {}
    for n, o in enumerate(out, 1):
        key = frozenset((o.left, o.right))
        if key in seen and seen[key][1] != o.kind:
            raise CatalogError(f"{path}: override {n} ({o.kind}) contradicts override "
                               f"{seen[key][0]} ({seen[key][1]}) for the same pair",
                               hint="keep one decision per pair")
        seen.setdefault(key, (n, o.kind))
    return out
