"""DuckDB reference for the event-lake benchmark.

Runs the SQL that `lake-bench query --json FILE` wrote for each query over the same Parquet files,
times it the same way (p50/p95 of N runs after the first), and checks that DuckDB finds the same
number of events and the same first page as canvass did.

    python benches/lake_reference.py FILE [RUNS]
"""

import json
import statistics
import sys
import time

import duckdb


def percentile(sorted_ms, p):
    return sorted_ms[round((len(sorted_ms) - 1) * p)]


def main():
    results = json.load(open(sys.argv[1]))
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"DuckDB {duckdb.__version__}, {threads} threads")
    print(f"{'query':<36} {'p50 ms':>9} {'p95 ms':>9} {'hits':>10}  same as canvass")
    mismatches = 0
    for q in results:
        times = []
        rows = None
        for _ in range(runs):
            started = time.perf_counter()
            rows = con.execute(q["sql"]).fetchall()
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        total = rows[0][1] if rows else 0
        top = [r[0] for r in rows]
        same = total == q["total"] and top == q["top"]
        mismatches += not same
        print(f"{q['name']:<36} {percentile(times, 0.5):>9.1f} {percentile(times, 0.95):>9.1f} {total:>10}  "
              f"{'yes' if same else 'NO'}")
        q["duckdb_p50_ms"] = percentile(times, 0.5)
        q["duckdb_p95_ms"] = percentile(times, 0.95)
    print()
    print("| query | canvass p50 / p95 ms | DuckDB p50 / p95 ms | events found | segments opened |")
    print("|---|---|---|---|---|")
    for q in results:
        print(f"| {q['query']} | {q['p50_ms']:.0f} / {q['p95_ms']:.0f} | "
              f"{q['duckdb_p50_ms']:.0f} / {q['duckdb_p95_ms']:.0f} | {q['total']:,} | {q['segments_opened']} |")
    if mismatches:
        sys.exit(f"{mismatches} queries gave different results in DuckDB and canvass")


if __name__ == "__main__":
    main()
