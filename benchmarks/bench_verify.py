"""Benchmark: verify 10,000 orders with the unit-aware engine and with a plain-float reference.

Run: ``python benchmarks/bench_verify.py [--orders N] [--repeat R]``.  Prints a table
(figure, this project, baseline, ratio) and writes ``benchmarks/results/verify.json``.

Both paths get the same 10,000 order documents (what ``tomllib`` returns for an
order file: text with units, as a script writes them) and apply the same rules:

* **this project**: ``chemo.order.order_from_document`` + ``chemo.verify.verify_order``:
  pint-backed unit parsing at the boundary (``units.magnitude``, cached per unit
  text), ``body_size`` with its plausibility checks, ``calculate_cycle`` with
  ``Decimal`` rounding, the verifier's rules and messages.
* **baseline**: ``reference_verify`` below, written for this benchmark: the
  regimen and library numbers are read once from the same TOML files with a
  hand parser into plain floats; per order, a regex and a dict of unit factors
  read the text, Mosteller on floats, float rounding, the same reason rules.
  It builds no messages beyond the reason codes.

The two must agree: every order's worst status and every line's reason codes
are compared, and the agreement is reported (a disagreement is a bug in one of
them).  Setup (reading the files once, warming the caches) is not timed on
either side.  Not a timed test: nothing here fails on speed.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import re
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chemo.order import order_from_document  # noqa: E402
from chemo.verify import verify_order  # noqa: E402
from chemo.library import load_library  # noqa: E402

REGIMENS = ("doxorubicin-dacarbazine", "doxorubicin-ifosfamide", "epirubicin-ifosfamide", "pld-ifosfamide-anlotinib")
RESULTS = ROOT / "benchmarks" / "results" / "verify.json"
GOAL_PER_ORDER_US = 300  # issue 17: order verification, µs an order

# ------------------------------------------------------------------ the plain-float reference

_NUM = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(.*?)\s*$")
MASS = {"mg": 1.0, "g": 1000.0, "µg": 0.001, "mcg": 0.001, "ug": 0.001}
AREA = {"m²": 1.0, "m2": 1.0, "㎡": 1.0, "m^2": 1.0, "m**2": 1.0}
LENGTH = {"cm": 1.0, "m": 100.0, "mm": 0.1, "in": 2.54, "inch": 2.54}
WEIGHT = {"kg": 1.0, "g": 0.001, "lb": 0.45359237, "lbs": 0.45359237}
HARD = {"decimal-error", "per-cycle-as-daily", "basis-confusion", "over-max", "wrong-drug", "unit-error",
        "wrong-day", "duplicate"}


def _split(text):
    m = _NUM.match(text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)), m.group(2)


def _dose(text):
    """(amount, basis) with basis 'flat', 'm2' or 'kg'; None when not a dose."""
    value, unit = _split(text)
    num, _, den = unit.partition("/")
    if num.strip() not in MASS:
        return None
    amount = value * MASS[num.strip()]
    den = den.strip()
    if not den:
        return amount, "flat"
    if den in AREA:
        return amount, "m2"
    if den == "kg":
        return amount, "kg"
    return None


class Reference:
    """The rules on plain floats, with the regimen and library numbers read by hand."""

    def __init__(self, root: Path):
        lib = tomllib.loads((root / "regimens" / "library" / "drugs.toml").read_text())
        self.tol = _split(lib["rounding"]["tolerance"])[0] / 100
        self.drugs = {}
        for did, d in lib["drugs"].items():
            limits = {}
            for key in ("single", "cycle"):
                limits[key] = [_dose(t) for t in d["max"][key]]
            self.drugs[did] = {
                "inc": _split(d["rounding"])[0] if "rounding" in d else None,
                "levels": [_split(t)[0] / 100 for t in d.get("dose_levels", [])],
                "ladder": [_split(t)[0] for t in d.get("ladder", [])],
                "nix": set(d.get("not_interchangeable_with", [])),
                "limits": limits,
                "aliases": set(d.get("aliases", [])),
            }
        self.alias = {a: did for did, d in self.drugs.items() for a in d["aliases"]}
        self.regimens = {}
        for rid in REGIMENS:
            doc = tomllib.loads((root / "regimens" / f"{rid}.toml").read_text())
            lines = []
            for line in doc["drugs"]:
                amount, basis = _dose(line["dose"])
                n = len(line["days"])
                daily = amount / n if line["per"] == "cycle" else amount
                lines.append({"drug": line["drug"], "days": sorted(line["days"]), "daily": daily, "basis": basis,
                              "cycle": daily * n})
            derived = []
            for d in doc.get("derived", []):
                derived.append({"drug": d["drug"], "from": d["from"], "fraction": _split(d["fraction"])[0] / 100,
                                "doses": len(d.get("schedule", ())) or 1})  # a schedule: equal doses, each rounded
            self.regimens[rid] = {"cycles": doc["cycles"], "lines": lines, "derived": derived}

    def body(self, doc):
        if "bsa" in doc:
            v, u = _split(doc["bsa"])
            bsa = v * AREA[u]
            weight = None
            if "weight" in doc:
                v, u = _split(doc["weight"])
                weight = v * WEIGHT[u]
            return bsa, weight
        v, u = _split(doc["height"])
        h = v * LENGTH[u]
        v, u = _split(doc["weight"])
        w = v * WEIGHT[u]
        return math.sqrt(h * w / 3600), w

    def dispense(self, calc, inc):
        if inc is None:
            return calc
        for step in (inc, 1.0, 0.1):
            rounded = math.floor(calc / step + 0.5) * step
            if rounded > 0 and abs(rounded - calc) <= calc * self.tol:
                return rounded
        return calc

    def expected(self, reg, bsa, weight, level):
        """{(drug, day): (calculated, dispensed, daily, basis)}."""
        out = {}
        for line in reg["lines"]:
            drug = self.drugs[line["drug"]]
            lvl = level.get(line["drug"], 0) if isinstance(level, dict) else level
            daily = line["daily"]
            if lvl:
                if drug["ladder"]:
                    i = drug["ladder"].index(daily) - lvl
                    if i >= len(drug["ladder"]):
                        raise ValueError("ladder")
                    daily = drug["ladder"][i]
                else:
                    daily = daily * drug["levels"][-lvl]
            per = 1.0 if line["basis"] == "flat" else bsa if line["basis"] == "m2" else weight
            for day in line["days"]:
                calc = daily * per
                out[(line["drug"], day)] = (calc, self.dispense(calc, drug["inc"]), daily, line["basis"])
        for d in reg["derived"]:
            inc = self.drugs[d["drug"]]["inc"]
            for (drug, day), (calc, _, daily, basis) in list(out.items()):
                if drug == d["from"]:
                    c = calc * d["fraction"]
                    n = d["doses"]
                    out[(d["drug"], day)] = (c, self.dispense(c / n, inc) * n, daily * d["fraction"], basis)
        return out

    def limit(self, drug, key, bsa, weight):
        best = None
        for lim in self.drugs[drug]["limits"][key]:
            amount, basis = lim
            mg = amount if basis == "flat" else amount * bsa if basis == "m2" else amount * weight if weight else None
            if mg is not None and (best is None or mg < best):
                best = mg
        return best

    def verify(self, doc):
        """(worst status, [(drug, day, line, sorted reasons)])."""
        tol = self.tol
        reg = self.regimens[doc["regimen"]]
        bsa, weight = self.body(doc)
        level = doc.get("dose_level", 0)
        exp = self.expected(reg, bsa, weight, level)
        days, total = {}, {}
        for (drug, day), (calc, _, _, _) in exp.items():
            days.setdefault(drug, []).append(day)
            total[drug] = total.get(drug, 0.0) + calc
        numbers = {}
        for line in reg["lines"]:
            numbers[line["drug"]] = (line["daily"], line["cycle"])

        def within(v, t):
            return t > 0 and abs(v - t) <= t * tol * (1 + 1e-9)

        results, seen, running = [], set(), {}
        for i, line in enumerate(doc["line"], 1):
            reasons = []
            name = line["drug"].strip().lower()
            drug = name if name in self.drugs else self.alias.get(name)
            d = _dose(line["dose"])
            mg = None
            if d is None:
                reasons.append("unit-error")
            else:
                amount, basis = d
                mg = amount if basis == "flat" else amount * bsa if basis == "m2" else amount * weight if weight else None
                if mg is None:
                    reasons.append("unit-error")
            day = line["day"]
            if drug is None or drug not in days:
                reasons.append("wrong-drug")
                if drug is not None:
                    self.over_max(drug, mg, bsa, weight, reasons, running)
            elif (drug, day) not in exp:
                reasons.append("wrong-day")
                self.over_max(drug, mg, bsa, weight, reasons, running)
            else:
                if (drug, day) in seen:
                    reasons.append("duplicate")
                seen.add((drug, day))
                if mg is not None:
                    calc, dispensed, daily, pbasis = exp[(drug, day)]
                    if not within(mg, calc):
                        reasons.append("deviation")
                        ratio = mg / calc
                        if ratio >= 10 * (1 - tol) - 1e-9 or ratio <= 0.1 * (1 + tol) + 1e-9:
                            reasons.append("decimal-error")
                        if len(days[drug]) > 1 and within(mg, total[drug]):
                            reasons.append("per-cycle-as-daily")
                        cands = [daily, daily * len(days[drug])]
                        if drug in numbers:
                            cands += list(numbers[drug])
                        inc = self.drugs[drug]["inc"] or 0.0

                        def same(v, t):  # a transcription: equal within the dispensing increment
                            return t > 0 and abs(v - t) <= inc + t * 1e-9

                        confused = (basis != pbasis and any(same(amount, c) for c in cands)) or (
                            basis != "flat" and (same(amount, calc) or same(amount, dispensed)))
                        if confused:
                            reasons.append("basis-confusion")
                    self.over_max(drug, mg, bsa, weight, reasons, running)
            results.append((drug or name, day, i, tuple(sorted(reasons))))
        for (drug, day) in exp:
            if (drug, day) not in seen:
                results.append((drug, day, None, ("missing-drug",)))
        worst = "ok"
        for r in results:
            if any(x in HARD for x in r[3]):
                worst = "hard-stop"
                break
            if r[3]:
                worst = "review"
        return worst, results

    def over_max(self, drug, mg, bsa, weight, reasons, running):
        if mg is None:
            return
        single = self.limit(drug, "single", bsa, weight)
        if single is not None and mg > single * (1 + 1e-9):
            reasons.append("over-max")
        before = running.get(drug, 0.0)
        running[drug] = before + mg
        cycle = self.limit(drug, "cycle", bsa, weight)
        if cycle is not None and running[drug] > cycle * (1 + 1e-9) >= before and "over-max" not in reasons:
            reasons.append("over-max")


# ------------------------------------------------------------------ the orders

def make_orders(n: int, seed: int = 3) -> list[dict]:
    """Realistic orders: mostly correct, with every error pattern of issue 3 mixed in."""
    from chemo.dose import body_size, calculate_cycle
    from chemo.regimen import load_regimen

    rng = random.Random(seed)
    library = load_library()
    regimens = {rid: load_regimen(rid, library) for rid in REGIMENS}
    orders = []
    for k in range(n):
        rid = REGIMENS[k % len(REGIMENS)]
        reg = regimens[rid]
        h_cm = rng.randint(150, 195)
        w_kg = round(rng.uniform(45, 120), 1)
        doc = {"regimen": rid, "cycle": rng.randint(1, 3)}
        style = rng.random()
        if style < 0.6:
            doc["height"], doc["weight"] = f"{h_cm} cm", f"{w_kg} kg"
        elif style < 0.75:
            doc["height"], doc["weight"] = f"{h_cm / 100:.2f} m", f"{w_kg * 2.20462:.1f} lb"
        else:
            doc["bsa"] = f"{math.sqrt(h_cm * w_kg / 3600):.2f} m²"
        level = 0
        if rng.random() < 0.2:
            level = -1
            if rid.startswith("pld"):
                level = {"anlotinib": -1}
            doc["dose_level"] = level
        body = body_size(doc.get("height"), doc.get("weight"), doc.get("bsa"), regimen=reg, library=library)
        cycle = calculate_cycle(reg, body, doc["cycle"], level, library)
        lines = [{"drug": a.drug, "day": a.day, "dose": f"{a.dose_mg:g} mg"} for a in cycle.administrations]
        r = rng.random()
        target = rng.randrange(len(lines))
        a = cycle.administrations[target]
        line = lines[target]
        if r < 0.35:
            pass  # a correct order
        elif r < 0.42:
            line["dose"] = f"{a.dose_mg * 10:g} mg"  # ten-fold
        elif r < 0.49:
            line["dose"] = f"{a.dose_mg / 10:g} mg"  # a tenth
        elif r < 0.54:
            total = sum(x.dose_mg for x in cycle.for_drug(a.drug))
            line["dose"] = f"{total:g} mg"  # the cycle total given as a day
        elif r < 0.59:
            line["dose"] = f"{a.daily.amount:g} mg"  # mg for mg/m²
        elif r < 0.64:
            line["dose"] = f"{a.dose_mg / 1000:g} g"  # grams
        elif r < 0.71:
            if a.daily.basis.name == "PER_M2":
                line["dose"] = f"{a.daily.amount:g} mg/m²"  # written per m², multiplied out
        elif r < 0.76:
            swap = {"doxorubicin": "pld", "pld": "doxorubicin"}.get(a.drug, "epirubicin")
            line["drug"] = swap  # a substituted product
        elif r < 0.81:
            lines.pop(target)  # a missing line
        elif r < 0.85:
            line["dose"] = f"{a.dose_mg:g} mL"  # not a mass
        elif r < 0.92:
            line["dose"] = f"{a.calculated_mg * rng.choice((0.9, 0.97, 1.03, 1.08, 1.3)):.1f} mg"  # small deviations
        else:
            line["dose"] = f"{a.dose_mg * rng.choice((3, 5, 20)):g} mg"
        rng.shuffle(lines)
        doc["line"] = lines
        orders.append(doc)
    return orders


# ------------------------------------------------------------------ running

def engine_verify(doc, library):
    v = verify_order(order_from_document(doc, "bench.toml"), library)
    return v.status, [(r.drug, r.day, r.line, tuple(sorted(r.reasons))) for r in v.lines]


def timed_both(fn, orders) -> tuple[float, float]:
    """One pass: (wall, CPU) seconds."""
    t0, c0 = time.perf_counter(), time.process_time()
    for doc in orders:
        fn(doc)
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each path; the best is reported")
    parser.add_argument("--profile", action="store_true", help="cProfile the unit-aware path and print the top entries")
    args = parser.parse_args(argv)

    library = load_library()
    orders = make_orders(args.orders)
    reference = Reference(ROOT)
    engine_verify(orders[0], library)  # warm the regimen cache, as a running service would be
    reference.verify(orders[0])

    disagreements = []
    statuses = {"ok": 0, "review": 0, "hard-stop": 0}
    for i, doc in enumerate(orders):
        a_status, a_lines = engine_verify(doc, library)
        b_status, b_lines = reference.verify(doc)
        statuses[a_status] += 1
        key = lambda r: (r[1], str(r[0]), r[2] or 0)  # noqa: E731
        if a_status != b_status or sorted(a_lines, key=key) != sorted(b_lines, key=key):
            disagreements.append(i)

    # interleaved, best of each: a machine busy with something else skews both paths alike
    t_engine = t_ref = c_engine = c_ref = math.inf
    for _ in range(args.repeat):
        wall, cpu = timed_both(lambda d: engine_verify(d, library), orders)
        t_engine, c_engine = min(t_engine, wall), min(c_engine, cpu)
        wall, cpu = timed_both(reference.verify, orders)
        t_ref, c_ref = min(t_ref, wall), min(c_ref, cpu)
    ratio = t_engine / t_ref
    n = len(orders)
    rows = [
        (f"verify {n:,} orders (s)", f"{t_engine:.3f}", f"{t_ref:.3f}", f"{ratio:.2f}×"),
        ("per order (µs)", f"{t_engine / n * 1e6:.1f}", f"{t_ref / n * 1e6:.1f}", f"{ratio:.2f}×"),
        ("orders per second", f"{n / t_engine:,.0f}", f"{n / t_ref:,.0f}", f"{t_ref / t_engine:.2f}×"),
        ("CPU time (s)", f"{c_engine:.3f}", f"{c_ref:.3f}", f"{c_engine / c_ref:.2f}×"),
        ("status agreement", f"{n - len(disagreements)}/{n}", "(reference)", ""),
    ]
    widths = [max(len(r[i]) for r in rows + [("figure", "this project", "baseline", "ratio")]) for i in range(4)]
    header = ("figure", "this project", "baseline", "ratio")
    for row in [header] + rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    per_order = t_engine / n * 1e6
    print(f"\nstatuses (engine): {statuses}; goal: at most {GOAL_PER_ORDER_US} µs an order "
          f"({'met' if per_order <= GOAL_PER_ORDER_US else 'NOT met'}); the plain-float reference is a "
          "correctness cross-check, not a goal")
    if disagreements:
        print(f"DISAGREEMENTS on {len(disagreements)} orders, first: {disagreements[:5]}")
    result = {
        "benchmark": "verify", "orders": n, "repeat": args.repeat,
        "this_project_s": round(t_engine, 4), "baseline_s": round(t_ref, 4), "ratio": round(ratio, 3),
        "this_project_cpu_s": round(c_engine, 4), "baseline_cpu_s": round(c_ref, 4),
        "cpu_ratio": round(c_engine / c_ref, 3),
        "per_order_us": {"this_project": round(t_engine / n * 1e6, 2), "baseline": round(t_ref / n * 1e6, 2)},
        "statuses": statuses, "disagreements": len(disagreements), "goal_per_order_us": GOAL_PER_ORDER_US,
        "python": platform.python_version(), "machine": platform.machine(),
        "baseline_description": "plain floats: regex + unit dict parsing, Mosteller, float rounding, same reason rules",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for doc in orders[:2000]:
            engine_verify(doc, library)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return result


if __name__ == "__main__":
    main()
