"""The audit ledger's chain: an untouched ledger verifies, and each kind of tampering is
found where it happened."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

from federation.audit import AuditLedger


def _filled(path: Path, n: int = 5) -> AuditLedger:
    ledger = AuditLedger(path)
    for i in range(n):
        ledger.append({"user": "ana", "sql": f"SELECT {i}", "rows": i, "outcome": "ok"})
    return ledger


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_an_untouched_ledger_verifies(tmp_path):
    ledger = _filled(tmp_path / "ledger.jsonl")
    verdict = ledger.verify()
    assert verdict.ok and verdict.records == 5
    assert [r["seq"] for r in ledger.records()] == [1, 2, 3, 4, 5]


def test_an_edited_record_is_found(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ledger = _filled(path)
    lines = _lines(path)
    record = json.loads(lines[2])
    record["rows"] = 999  # the hash is left as it was
    lines[2] = json.dumps(record, separators=(",", ":")) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    problems = ledger.verify().problems
    assert [(p.line, p.kind) for p in problems] == [(3, "edited")]


def test_a_removed_record_is_found(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ledger = _filled(path)
    lines = _lines(path)
    path.write_text("".join(lines[:1] + lines[2:]), encoding="utf-8")
    problems = ledger.verify().problems
    assert [(p.line, p.kind) for p in problems] == [(2, "removed")]
    assert "record 3" in problems[0].message and "record 1" in problems[0].message


def test_reordered_records_are_found(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ledger = _filled(path)
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    path.write_text("".join(lines), encoding="utf-8")
    kinds = {(p.line, p.kind) for p in ledger.verify().problems}
    assert (2, "removed") in kinds and (3, "reordered") in kinds


def test_records_cut_from_the_end_are_found(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ledger = _filled(path)
    path.write_text("".join(_lines(path)[:3]), encoding="utf-8")
    problems = ledger.verify().problems
    assert [p.kind for p in problems] == ["truncated"]
    assert "record 3" in problems[0].message and "record 5" in problems[0].message


def test_a_torn_last_record_is_reported_and_the_chain_goes_on(tmp_path):
    """A crash mid-write leaves half a line: verify names it, and the next append starts a
    new line chained to the last complete record."""
    path = tmp_path / "ledger.jsonl"
    ledger = _filled(path, 3)
    complete = path.read_bytes()
    torn = ledger.path.read_text(encoding="utf-8").splitlines()[-1][:40]
    path.write_bytes(complete + torn.encode())  # the 4th record, cut short
    assert [(p.line, p.kind) for p in ledger.verify().problems][0] == (4, "torn")
    record = ledger.append({"user": "ana", "sql": "SELECT 9", "outcome": "ok"})
    assert record["seq"] == 4  # chained to record 3, the last complete one
    verdict = ledger.verify()
    assert [(p.line, p.kind) for p in verdict.problems] == [(4, "torn")]
    assert verdict.records == 4


def test_concurrent_appends_keep_one_chain(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ledger = AuditLedger(path)

    def worker(n: int) -> None:
        for i in range(25):
            ledger.append({"user": f"u{n}", "sql": f"SELECT {i}", "outcome": "ok"})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = ledger.verify()
    assert verdict.ok and verdict.records == 200


def _append_from_process(path: str, n: int) -> None:
    ledger = AuditLedger(Path(path))
    for i in range(20):
        ledger.append({"user": f"p{n}", "sql": f"SELECT {i}", "outcome": "ok"})


def test_appends_from_several_processes_keep_one_chain(tmp_path):
    path = tmp_path / "ledger.jsonl"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_append_from_process, args=(str(path), n))
                 for n in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    verdict = AuditLedger(path).verify()
    assert verdict.ok and verdict.records == 80
