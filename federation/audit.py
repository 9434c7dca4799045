"""The audit ledger: one hash-chained JSON record per query, appended by every entry point.

Each record carries the SHA-256 of the previous one (``prev``) and its own (``hash``, over
its canonical JSON without ``hash``), plus a sequence number, so editing, removing or
reordering a record breaks the chain where it happened. A sidecar ``<ledger>.head`` holds
the last sequence number and hash, so records cut from the end are noticed too.

Appends hold a lock (a thread lock and ``flock`` on the file, so several processes may
share one ledger) and write each record with one ``write`` on an ``O_APPEND`` descriptor,
then ``fsync``. A crash mid-write leaves a torn last line: ``verify`` reports it, and the
next append starts a fresh line chained to the last complete record, so the tear stays
visible instead of being silently repaired.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
_TAIL_BYTES = 1 << 16


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the record's canonical JSON, ``hash`` itself left out."""
    body = {k: v for k, v in record.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Problem:
    line: int  # 1-based line in the ledger file (0: the head file)
    kind: str  # edited | removed | reordered | torn | truncated | malformed
    message: str


@dataclass
class Verdict:
    records: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLedger:
    """Append and read one ledger file; safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._lock = threading.Lock()

    # -- writing --------------------------------------------------------------------------

    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Chain ``fields`` onto the ledger as its next record; return the record."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                seq, prev, torn = _last_record(fd)
                record = {"seq": seq + 1,
                          "time": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
                          **fields, "prev": prev}
                record["hash"] = record_hash(record)
                line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
                os.write(fd, (b"\n" if torn else b"") + line.encode() + b"\n")
                os.fsync(fd)
                self._write_head(record["seq"], record["hash"])
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        return record

    def _write_head(self, seq: int, digest: str) -> None:
        tmp = self.head_path.with_name(self.head_path.name + ".tmp")
        tmp.write_text(json.dumps({"seq": seq, "hash": digest}) + "\n", encoding="utf-8")
        os.replace(tmp, self.head_path)

    # -- reading ----------------------------------------------------------------------------

    def lines(self) -> Iterator[tuple[int, str]]:
        """(line number, text) of every line, torn ones included."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            yield from enumerate(handle, 1)

    def records(self) -> Iterator[dict[str, Any]]:
        """The complete, parseable records, in file order."""
        for _, text in self.lines():
            record = _parse(text)
            if record is not None:
                yield record

    def verify(self) -> Verdict:
        """Check the chain: every problem, with the line where it is."""
        verdict = Verdict()
        prev, seq = GENESIS, 0
        for number, text in self.lines():
            record = _parse(text)
            if record is None:
                kind = "torn" if not text.endswith("\n") or _looks_torn(text) else "malformed"
                verdict.problems.append(Problem(number, kind, (
                    f"line {number} is an incomplete record (a write cut short, e.g. by a "
                    "crash)" if kind == "torn" else f"line {number} is not a ledger record")))
                continue
            verdict.records += 1
            if record.get("hash") != record_hash(record):
                verdict.problems.append(Problem(number, "edited", (
                    f"record {record.get('seq')} (line {number}) was edited: its content no "
                    "longer matches its hash")))
            if record.get("prev") != prev:
                kind = "reordered" if isinstance(record.get("seq"), int) and \
                    record["seq"] <= seq else "removed"
                verdict.problems.append(Problem(number, kind, _link_message(
                    kind, record.get("seq"), number, seq)))
            elif record.get("seq") != seq + 1:
                verdict.problems.append(Problem(number, "removed", (
                    f"record {record.get('seq')} (line {number}) follows record {seq}: "
                    "sequence numbers were rewritten")))
            prev, seq = str(record.get("hash")), int(record.get("seq") or 0)
        head = self._head()
        if head is not None and (head.get("seq"), head.get("hash")) != (seq, prev):
            verdict.problems.append(Problem(0, "truncated", (
                f"the ledger ends at record {seq} but its head file says record "
                f"{head.get('seq')} was written last: records were removed from the end")))
        return verdict

    def _head(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.head_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None


def query_record(*, user: str | None, role: str | None, sql: str, plan: Any, stats: Any,
                 outcome: str, error: BaseException | None, digest: str | None,
                 duration_ms: float) -> dict[str, Any]:
    """A query's ledger fields: who, what was asked and run, what was read, what came
    back. No credentials ever reach here: native requests are query texts, and errors are
    Concord's own messages."""
    scans = list(stats.scans) if stats is not None else []
    return {
        "user": user,
        "role": role,
        "sql": sql,
        "rewritten_sql": plan.local_sql if plan is not None else None,
        "sources": sorted({s.source for s in scans}),
        "requests": [{"source": s.source, "object": s.object, "request": s.native_request,
                      "http_requests": s.http_requests, "cache_hit": s.cache_hit}
                     for s in scans],
        "rows": stats.rows_returned if stats is not None else 0,
        "result_sha256": digest,
        "duration_ms": round(duration_ms, 2),
        "outcome": outcome,
        "error": None if error is None else str(error),
    }


def matching(records: Iterator[dict[str, Any]], *, user: str | None = None,
             since: dt.datetime | None = None, until: dt.datetime | None = None,
             source: str | None = None) -> Iterator[dict[str, Any]]:
    """The records of ``user``, between ``since`` and ``until``, that read ``source``."""
    for record in records:
        when = dt.datetime.fromisoformat(record["time"])
        if user is not None and record.get("user") != user:
            continue
        if (since is not None and when < since) or (until is not None and when > until):
            continue
        if source is not None and source not in record.get("sources", []):
            continue
        yield record


def _link_message(kind: str, seq: Any, line: int, before: int) -> str:
    if kind == "reordered":
        return (f"record {seq} (line {line}) comes after record {before}: records were "
                "moved out of order")
    return (f"record {seq} (line {line}) does not follow record {before}: the record(s) "
            "between them were removed or altered")


def _parse(text: str) -> dict[str, Any] | None:
    if not text.endswith("\n"):
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "hash" in record else None


def _looks_torn(text: str) -> bool:
    """A line that starts like a record but does not parse: cut short, then continued."""
    return text.startswith('{"seq":')


def _last_record(fd: int) -> tuple[int, str, bool]:
    """(seq, hash) of the last complete record, and whether the file ends mid-line."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 0, GENESIS, False
    start = max(0, size - _TAIL_BYTES)
    data = os.pread(fd, size - start, start)
    torn = not data.endswith(b"\n")
    while True:
        for line in reversed(data.splitlines(keepends=True)):
            record = _parse(line.decode("utf-8", errors="replace"))
            if record is not None:
                return int(record["seq"]), str(record["hash"]), torn
        if start == 0:
            return 0, GENESIS, torn
        start = max(0, start - _TAIL_BYTES)  # a huge record: read further back
        data = os.pread(fd, size - start, start)
