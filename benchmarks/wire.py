"""The PostgreSQL wire server: a 1M-row result streamed to psycopg (binary) and to JDBC,
÷ DuckDB's own Arrow fetch of the same result, and the server's peak memory.

    .venv/bin/python -m benchmarks.wire [--rows 1000000]

The server runs as a real ``concord serve`` process (so client and server do not share a
GIL), over a catalog whose only source is an empty export folder: the query reads no
source, so this measures the protocol path (planning, DuckDB, encoding, sockets). Peak
memory is the server process's VmHWM after the transfer, each client with a fresh server,
next to its VmHWM once started (before the query): the difference is what the transfer
cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psycopg
import yaml

QUERY = ("SELECT x AS id, x * 1.5 AS amount, 'customer ' || CAST(x AS VARCHAR) AS name, "
         "DATE '2020-01-01' + CAST(x % 1000 AS INTEGER) AS day FROM range({rows}) AS t(x)")
PASSWORD = "bench-password"
JAR = Path("/usr/share/java/postgresql.jar")
JAVA = """
import java.sql.*;
public class WireBench {
  public static void main(String[] a) throws Exception {
    try (Connection c = DriverManager.getConnection(
        "jdbc:postgresql://127.0.0.1:" + a[0] + "/concord?sslmode=disable", "bench", a[1])) {
      c.setAutoCommit(false);
      long start = System.nanoTime(); long n = 0;
      try (Statement st = c.createStatement()) {
        st.setFetchSize(10000);
        try (ResultSet rs = st.executeQuery(a[2])) {
          while (rs.next()) { rs.getLong(1); rs.getDouble(2); rs.getString(3); rs.getDate(4); n++; }
        }
      }
      System.out.println(n + " " + (System.nanoTime() - start) / 1e9);
    }
  }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(folder: Path) -> tuple[subprocess.Popen, int]:
    (folder / "exports").mkdir(exist_ok=True)
    (folder / "exports" / "note.csv").write_text("a\n1\n", encoding="utf-8")
    catalog = {"sources": {"files": {"type": "files", "url": f"file:{folder / 'exports'}",
                                     "options": {"tables": {"note": {"path": "note.csv"}}}}},
               "server": {"users": {"bench": {"password": {"env": "BENCH_PASSWORD"}}}}}
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog), encoding="utf-8")
    port = free_port()
    concord = str(Path(sys.executable).parent / "concord")
    proc = subprocess.Popen([concord, "serve", "-c", str(path), "-p", str(port)],
                            env={**os.environ, "BENCH_PASSWORD": PASSWORD},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("concord serve did not start")


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def duckdb_fetch(sql: str) -> float:
    started = time.perf_counter()
    duckdb.connect().sql(sql).to_arrow_table()
    return time.perf_counter() - started


def psycopg_fetch(port: int, sql: str) -> tuple[int, float]:
    dsn = f"host=127.0.0.1 port={port} user=bench password={PASSWORD} dbname=concord"
    with psycopg.connect(dsn, autocommit=True) as con:
        started = time.perf_counter()
        rows = con.cursor(binary=True).execute(sql).fetchall()
        return len(rows), time.perf_counter() - started


def jdbc_fetch(port: int, sql: str, folder: Path) -> tuple[int, float]:
    (folder / "WireBench.java").write_text(JAVA, encoding="utf-8")
    subprocess.run(["javac", "-cp", str(JAR), "-d", str(folder), str(folder / "WireBench.java")],
                   check=True)
    out = subprocess.run(["java", "-cp", f"{JAR}:{folder}", "WireBench", str(port), PASSWORD,
                          sql], capture_output=True, text=True, check=True)
    rows, seconds = out.stdout.split()
    return int(rows), float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    sql = QUERY.format(rows=args.rows)
    native = min(duckdb_fetch(sql) for _ in range(3))
    print(f"DuckDB Arrow fetch: {args.rows / native:,.0f} rows/s ({native:.2f} s)")
    clients = [("psycopg 3, binary", psycopg_fetch)]
    if JAR.exists() and shutil.which("javac"):
        clients.append(("pgJDBC, setFetchSize 10000", None))
    print("| client | rows | seconds | rows/s | ÷ DuckDB Arrow fetch | server peak memory "
          "(started → after) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, fetch in clients:
        with tempfile.TemporaryDirectory() as tmp:
            proc, port = start_server(Path(tmp))
            idle = peak_mb(proc.pid)
            try:
                rows, seconds = (fetch(port, sql) if fetch is not None
                                 else jdbc_fetch(port, sql, Path(tmp)))
                memory = peak_mb(proc.pid)
            finally:
                proc.terminate()
                proc.wait(10)
        rate = rows / seconds
        print(f"| {name} | {rows:,} | {seconds:.2f} | {rate:,.0f} | "
              f"{rate / (args.rows / native):.4f} | {idle:,.0f} → {memory:,.0f} MB |")


if __name__ == "__main__":
    main()
