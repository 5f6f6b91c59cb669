"""The quick slice of the fault suite (``python -m reliability.run --quick``), so CI runs a part of it.

The full suite is ``make reliability`` (docs/promises.md).  Parts whose code
has not landed are reported as NOT RUN and not counted here.

A regimen dose divided by ten (``"7.5 mg/m²"`` for doxorubicin's 75) is
rejected by the drug library's smallest plausible doses (``min``) and a mesna
fraction divided by ten by its ``derived_fraction`` range.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REJECTED_FIGURE = "malformed regimen files rejected with FILE: FIELD: message"


# The slice's parts in three runs side by side (each about a third of the time; they wait on subprocesses and
# servers much of it), their reports joined in the order of reliability.run's PARTS.
GROUPS = (("kill9", "postgres", "malformed_regimens", "tamper"),
          ("injection", "malformed_inputs", "writers", "failover"),
          ("least_privilege", "malformed_prescriptions", "mllp_kill9", "properties", "malformed_labs"))


@pytest.fixture(scope="module")
def slice_report(tmp_path_factory):
    from reliability.run import PARTS

    assert sorted(p for g in GROUPS for p in g) == sorted(n for n, _ in PARTS), "every part of the suite in a group"
    folder = tmp_path_factory.mktemp("reliability")
    runs = []
    for i, group in enumerate(GROUPS):
        out = folder / f"slice-{i}.json"
        runs.append((out, subprocess.Popen(
            [sys.executable, "-m", "reliability.run", "--quick", "--only", ",".join(group), "--json", str(out)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    parts, stdout = {}, []
    for out, run in runs:
        text, _ = run.communicate(timeout=600)
        stdout.append(text)
        assert out.exists(), f"the slice did not finish:\n{text[-3000:]}"
        parts.update({p["part"]: p for p in json.loads(out.read_text(encoding="utf-8"))["parts"]})
    return {"parts": [parts[n] for n, _ in PARTS if n in parts], "stdout": "\n".join(stdout)}


def _figures(report):
    return [f for part in report["parts"] for f in part["figures"]]


def test_quick_slice_holds(slice_report):
    """Every figure of the slice passes (NOT RUN parts aside)."""
    failed = []
    for f in _figures(slice_report):
        if f["status"] != "FAIL":
            continue
        failed.append(f"{f['name']}: {f['value']} ({f['threshold']}) {f['examples'][:3]}")
    assert not failed, "\n".join(failed) + "\n\n" + slice_report["stdout"][-4000:]


def test_quick_slice_ran_something(slice_report):
    ran = [f for f in _figures(slice_report) if f["status"] != "NOT RUN"]
    assert len(ran) >= 10


def test_tenth_doses_rejected(slice_report):
    figure = next(f for f in _figures(slice_report) if f["name"] == REJECTED_FIGURE)
    assert figure["status"] == "PASS", figure["examples"][:5]


def test_malformed_lab_messages_refused_and_nothing_written(slice_report):
    """The slice of `malformed_labs`: FHIR and HL7 v2 messages, each refused with one clear line, no rows."""
    part = next(p for p in slice_report["parts"] if p["part"] == "malformed_labs")
    figures = {f["name"]: f for f in part["figures"]}
    assert figures["malformed lab messages refused with one clear line (`chemo labs import`)"]["status"] == "PASS"
    assert figures["rows written from refused lab files"]["value"] == 0
    assert figures["tracebacks on malformed lab messages"]["value"] == 0


def test_malformed_prescriptions_refused_and_nothing_written(slice_report):
    """The slice of `malformed_prescriptions`: bad `chemo prescribe` calls, each refused clearly, no rows."""
    part = next(p for p in slice_report["parts"] if p["part"] == "malformed_prescriptions")
    figures = {f["name"]: f for f in part["figures"]}
    assert figures["malformed prescriptions refused clearly (`chemo prescribe`)"]["status"] == "PASS"
    assert figures["malformed prescriptions tried (`chemo prescribe`)"]["value"] >= 16
    assert figures["tracebacks on malformed prescriptions"]["value"] == 0
    assert figures["rows written by malformed prescriptions"]["value"] == 0


def test_kill9_of_the_mllp_listener_loses_no_acked_message_and_leaves_none_half_in(slice_report):
    """The slice of `mllp_kill9`: `chemo labs listen` killed with SIGKILL while senders stream messages."""
    part = next(p for p in slice_report["parts"] if p["part"] == "mllp_kill9")
    figures = {f["name"]: f for f in part["figures"]}
    assert figures["kill -9 trials with every ACKed message in the record and none half in"]["status"] == "PASS"
    assert figures["messages ACKed AA before the kills"]["value"] >= 3
