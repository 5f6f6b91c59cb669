"""What least privilege costs a write on PostgreSQL (issue 22): the guard trigger, ``chemo_lock`` and the keyed
audit append, against the same writes on a record the DBA script was not run on.

Two records in one database of their own on the server of ``$CHEMO_TEST_POSTGRES`` (else
``postgresql://postgres@127.0.0.1:5432/test``): one deployed as the README says (``chemo db setup-sql``, a nurse's
non-superuser role writing), one plain (the superuser writing; no guard, the advisory lock taken directly).  Both
get the same lab results through ``chemo.records.add_lab`` (one transaction each: the role check, the insert, the
audit row), alternately, so drift in the machine hits both alike.  Printed: the median and p90 ms per write and
the ratio guarded / plain.  Everything made is dropped after.

    python benchmarks/bench_guard.py [--writes 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(writes: int) -> dict:
    import psycopg
    from click.testing import CliRunner

    from chemo.cli import cli
    from chemo.db import open_store
    from chemo.records import add_lab
    from reliability import least_privilege as lp

    def invoke(args, db):
        return CliRunner().invoke(cli, [*args, "--db", db]).exit_code

    url = lp.base_url()
    d = lp.deploy(url, invoke)
    try:
        lp.populate(d, invoke)
        with psycopg.connect(d.admin_url, autocommit=True) as admin:
            admin.execute("CREATE SCHEMA plain")
        plain_url = d.admin_url + "?options=-csearch_path%3Dplain"
        with open_store(plain_url) as plain:
            from chemo.demo import add_ready_patient, add_users, approve_regimens

            add_users(plain)
            approve_regimens(plain)
            add_ready_patient(plain, "LP1")
        times = {"guarded": [], "plain": []}
        with open_store(d.url(d.nurse), create=False) as guarded, open_store(plain_url, create=False) as plain:
            from chemo.demo import NURSE

            for i in range(writes):
                for name, store, login in (("guarded", guarded, d.nurse), ("plain", plain, NURSE))[::1 - 2 * (i % 2)]:
                    started = time.perf_counter()
                    add_lab(store, login, "LP1", "platelets", f"{150 + i % 50} 10^9/L")
                    times[name].append((time.perf_counter() - started) * 1000)
    finally:
        lp.teardown(url, d)

    def summary(values):
        ordered = sorted(values)
        return {"median_ms": round(statistics.median(ordered), 3), "p90_ms": round(ordered[int(0.9 * len(ordered))], 3)}

    result = {name: summary(v) for name, v in times.items()}
    result["ratio"] = round(result["guarded"]["median_ms"] / result["plain"]["median_ms"], 2)
    result["writes"] = writes
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.writes)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"one lab write, PostgreSQL, {result['writes']} each, alternating:")
    for name in ("plain", "guarded"):
        print(f"  {name:8} median {result[name]['median_ms']:.2f} ms, p90 {result[name]['p90_ms']:.2f} ms")
    print(f"  guarded / plain: {result['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
