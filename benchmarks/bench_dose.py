"""Dose calculation throughput (µs a cycle; goal at most 100), cross-checked against the plain-float
reference of bench_verify.py.

The orders and the reference are ``bench_verify.py``'s own (``make_orders``,
``Reference``): for every order, this project computes the cycle with
``chemo.dose.body_size`` + ``calculate_cycle`` (units parsed at the boundary,
plausibility checks, ``Decimal`` rounding); the reference computes the same
cycle on plain floats (``Reference.body`` + ``Reference.expected``).  Both
must agree on every dispensed dose; the best of ``--repeat`` interleaved runs is
reported, in wall time (the figure) and in CPU time (steadier on a shared machine).

    python benchmarks/bench_dose.py [--cycles 10000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
GOAL_PER_CYCLE_US = 100  # issue 17: dose calculation, µs a cycle


def figures(cycles: int = 10_000, repeat: int = 3) -> list[dict]:
    import bench_verify as bv

    from chemo.dose import body_size, calculate_cycle
    from chemo.library import load_library
    from chemo.regimen import load_regimen

    library = load_library()
    regimens = {rid: load_regimen(rid, library) for rid in bv.REGIMENS}
    orders = bv.make_orders(cycles)
    reference = bv.Reference(bv.ROOT)

    def engine(doc):
        regimen = regimens[doc["regimen"]]
        body = body_size(doc.get("height"), doc.get("weight"), doc.get("bsa"), regimen=regimen, library=library)
        return calculate_cycle(regimen, body, doc["cycle"], doc.get("dose_level", 0), library)

    def plain(doc):
        bsa, weight = reference.body(doc)
        return reference.expected(reference.regimens[doc["regimen"]], bsa, weight, doc.get("dose_level", 0))

    disagreements = 0
    for doc in orders:
        mine = {(a.drug, a.day): a.dose_mg for a in engine(doc).administrations}
        theirs = {key: value[1] for key, value in plain(doc).items()}
        if mine.keys() != theirs.keys() or any(not math.isclose(mine[k], theirs[k], rel_tol=1e-9) for k in mine):
            disagreements += 1

    def once(fn):
        t0, c0 = time.perf_counter(), time.process_time()
        for doc in orders:
            fn(doc)
        return time.perf_counter() - t0, time.process_time() - c0

    # interleaved, best of each: a machine busy with something else skews both paths alike
    t_engine = t_plain = c_engine = c_plain = math.inf
    for _ in range(repeat):
        wall, cpu = once(engine)
        t_engine, c_engine = min(t_engine, wall), min(c_engine, cpu)
        wall, cpu = once(plain)
        t_plain, c_plain = min(t_plain, wall), min(c_plain, cpu)
    return [{
        "figure": f"dose calculation, {cycles:,} cycles", "unit": "ms", "status": "ok",
        "value": t_engine * 1000, "baseline": t_plain * 1000, "ratio": t_engine / t_plain,
        "baseline_label": "plain-float reference (bench_verify.Reference)",
        "per_cycle_us": t_engine / cycles * 1e6, "baseline_per_cycle_us": t_plain / cycles * 1e6,
        "cycles_per_s": cycles / t_engine, "disagreements": disagreements, "repeat": repeat,
        "cpu_ms": c_engine * 1000, "cpu_baseline_ms": c_plain * 1000, "cpu_ratio": c_engine / c_plain,
        "goal_per_cycle_us": GOAL_PER_CYCLE_US,
    }]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = figures(args.cycles, args.repeat)
    if args.json:
        print(json.dumps(rows))
    else:
        r = rows[0]
        print(f"{r['figure']}: {r['value']:.0f} ms ({r['per_cycle_us']:.1f} µs a cycle); plain floats "
              f"{r['baseline']:.0f} ms ({r['baseline_per_cycle_us']:.1f} µs); ×{r['ratio']:.2f}; "
              f"CPU time {r['cpu_ms']:.0f} ms / {r['cpu_baseline_ms']:.0f} ms ×{r['cpu_ratio']:.2f}; "
              f"{r['disagreements']} disagreements; goal at most {GOAL_PER_CYCLE_US} µs a cycle "
              f"({'met' if r['per_cycle_us'] <= GOAL_PER_CYCLE_US else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
