"""`chemo validate` on 1,000 generated regimen files against only parsing them with tomllib.

The files are valid variants of the real ones in ``regimens/``: a new id and
name, per-m² doses scaled to 50-100 % (still below every plausibility limit),
another number of cycles.  The project figure is one ``chemo validate DIR``
process (units, doses, days, thresholds, the drug library); the baseline is one
Python process that does nothing but ``tomllib.loads`` each file.

    python benchmarks/bench_validate.py [--files 1000] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_startup import ROOT, chemo_exe, compare, median  # noqa: E402

REGIMENS = ROOT / "regimens"
_DOSE = re.compile(r'^(dose\s*=\s*")(\d+(?:\.\d+)?)(\s*[^"]*/[^"]*")', re.MULTILINE)
_ID = re.compile(r'^id\s*=\s*"([^"]+)"', re.MULTILINE)
_NAME = re.compile(r'^(name\s*=\s*")([^"]*)"', re.MULTILINE)
_CYCLES = re.compile(r"^cycles\s*=\s*\d+", re.MULTILINE)

BASELINE = (
    "import sys, tomllib, pathlib\n"
    "for p in sorted(pathlib.Path(sys.argv[1]).glob('*.toml')):\n"
    "    tomllib.loads(p.read_bytes().decode('utf-8'))\n"
)


def real_regimens() -> list[Path]:
    return sorted(REGIMENS.glob("*.toml"))


def variant(text: str, n: int, rng: random.Random) -> str:
    """A valid variant of a regimen file: new id, name, cycles and scaled per-m² doses."""
    factor = rng.choice((0.5, 0.6, 0.75, 0.8, 0.9, 1.0))
    text = _DOSE.sub(lambda m: f"{m.group(1)}{float(m.group(2)) * factor:g}{m.group(3)}", text)
    text = _ID.sub(lambda m: f'id = "{m.group(1)}-variant-{n}"', text, count=1)
    text = _NAME.sub(lambda m: f'{m.group(1)}{m.group(2)} (variant {n})"', text, count=1)
    return _CYCLES.sub(f"cycles = {rng.randint(1, 6)}", text, count=1)


def generate(directory: Path, count: int, seed: int = 6) -> list[Path]:
    rng = random.Random(seed)
    sources = [(p.stem, p.read_text(encoding="utf-8")) for p in real_regimens()]
    paths = []
    for n in range(count):
        stem, text = sources[n % len(sources)]
        path = directory / f"{stem}-{n:05d}.toml"
        path.write_text(variant(text, n, rng), encoding="utf-8")
        paths.append(path)
    return paths


def figures(files: int = 1000, runs: int = 5) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="chemo-bench-validate-") as tmp:
        generate(Path(tmp), files)
        results = compare({"validate": [chemo_exe(), "validate", tmp]},
                          [sys.executable, "-c", BASELINE, tmp], runs)
    row = {"figure": f"chemo validate, {files:,} files", "unit": "ms", "runs": runs,
           "baseline_label": "tomllib parse only"}
    r, base = results["validate"], results["baseline"]
    if r["error"] or base["error"]:
        row.update(status="not available", note=r["error"] or base["error"])
    else:
        value, b = median(r["seconds"]) * 1000, median(base["seconds"]) * 1000
        row.update(status="ok", value=value, baseline=b, ratio=value / b, per_file_ms=value / files,
                   peak_rss_mb=max(r["rss_mb"]), baseline_rss_mb=max(base["rss_mb"]))
    return [row]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = figures(args.files, args.runs)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            if row["status"] == "ok":
                print(f"{row['figure']}: {row['value']:.0f} ms ({row['per_file_ms']:.2f} ms a file; tomllib only "
                      f"{row['baseline']:.0f} ms, ×{row['ratio']:.1f}), peak RSS {row['peak_rss_mb']:.1f} MiB")
            else:
                print(f"{row['figure']}: not available ({row['note']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
