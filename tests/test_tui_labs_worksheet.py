"""The TUI's share of issue 10: the readiness screen names each result's source (typed, FHIR, HL7),
and the verify screen writes the cycle's worksheet (ctrl+o)."""

from __future__ import annotations

import json

from test_tui_support import NURSE, PHARMACIST, demo_db, demo_template, make, open_patient, screen_text  # noqa: F401

SIZE = (120, 40)


async def test_the_readiness_screen_shows_where_each_result_came_from(make, demo_db, tmp_path):
    from chemo.demo import DEMO_MRN_SYSTEM
    from chemo.labs.importer import import_file
    from chemo.labs.site import Site
    from chemo.db import open_store
    from tui.screens.readiness import ReadinessScreen

    obs = {"resourceType": "Observation", "id": "hb-tui", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
           "subject": {"identifier": {"system": DEMO_MRN_SYSTEM, "value": "DEMO-005"}}, "effectiveDateTime": "2026-06-15T07:00:00+00:00",
           "valueQuantity": {"value": 10.4, "system": "http://unitsofmeasure.org", "code": "g/dL"}}
    path = tmp_path / "hb.json"
    path.write_text(json.dumps(obs), encoding="utf-8")
    with open_store(demo_db, create=False) as store:
        report = import_file(store, NURSE, path, site=Site("demo", "demo", fhir_systems=(DEMO_MRN_SYSTEM,)))
    assert [o.outcome for o in report.outcomes] == ["imported"]
    app = make(NURSE)
    async with app.run_test(size=SIZE) as pilot:
        await open_patient(pilot, "005")  # haemoglobin 8.4 g/dL typed; now 10.4 g/dL from the lab
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ReadinessScreen)
        rows = {r.analyte: r for r in app.screen.data.rows}
        assert rows["hemoglobin"].source == "FHIR" and rows["hemoglobin"].entered.startswith("10.4")
        assert rows["anc"].source == "typed"
        text = screen_text(app)
        assert "Source" in text and "FHIR" in text and "typed" in text
        assert "· source FHIR" in text  # the chosen row's detail line names it too, seen at 80 columns


async def test_ctrl_o_on_the_verify_screen_writes_the_worksheet(make, demo_db, tmp_path, monkeypatch):
    from pypdf import PdfReader
    from tui.screens.verify import VerifyScreen

    monkeypatch.chdir(tmp_path)
    app = make(PHARMACIST)
    async with app.run_test(size=SIZE) as pilot:
        await open_patient(pilot, "DEMO-001")
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, VerifyScreen)
        await pilot.press("ctrl+o")
        await pilot.pause()
        written = tmp_path / "worksheet-DEMO-001-cycle-1.pdf"
        assert written.exists()
        text = "\n".join(page.extract_text() for page in PdfReader(str(written)).pages)
        assert "DRAFT - NOT FOR COMPOUNDING" in text and "MRN DEMO-001" in text
        first = app.screen.session.rows[0]
        assert f"{first.calculated_mg:.2f}" in text
