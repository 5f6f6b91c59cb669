"""A FHIR ``PlanDefinition`` (alone or in a ``Bundle``) back into a regimen file, as TOML text.

The document is read element by element; each element that is missing, of the wrong kind or in a
unit chemo cannot read is a :class:`chemo.errors.RegimenError` naming the file and the element's
JSON path (``PlanDefinition.contained[2].dosage[0].doseAndRate[0].doseQuantity.code``) and what was
expected, never a guess.  The regimen file written is then checked by chemo's own checks
(:func:`chemo.regimen.check_regimen`); a problem found there names the element it came from too.

Where the document carries a value twice (the dose as the protocol writes it, and its ``doseQuantity``
in UCUM), the two must agree.  A line without the written dose takes its ``doseQuantity`` as a dose
per day.
"""

from __future__ import annotations

import datetime

from ..errors import ChemoError, RegimenError
from ..fhir_json import NotFhirJson, fhir_object, json_kind
from . import (CODES, DIGEST, DOSE_UCUM, ENTRIES, EXT, MAX_NUMBER, NZ_REPLACED_BY, NZ_TIMING_OF_DAYS, REGIMEN_ID_SYSTEM, UCUM,
               content_digest, entry_counts, number_text)

MAX_JSON_BYTES = 4 * 1024 * 1024  # a regimen's PlanDefinition is some 50 kB


class _Node:
    """A JSON value and its path in the document; typed getters raise a RegimenError naming the path."""

    def __init__(self, value, path: str, name: str):
        self.value, self.path, self.name = value, path, name

    def fail(self, message: str, at: str | None = None):
        raise RegimenError(message, file=self.name or None, field=self._at(at) if at else self.path)

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and self.value.get(key) is not None

    def get(self, key: str, kind, what: str, required: bool = True):
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if value is None:
            if required:
                self.fail(f"missing: expected {what}", at=key)
            return None
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.fail(f"expected {what}, got {json_kind(value)}", at=key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not abs(value) <= MAX_NUMBER:
            shown = str(value) if len(str(value)) <= 20 else str(value)[:20] + "..."
            self.fail(f"{shown} is too large: expected {what}", at=key)
        if isinstance(value, str) and not value.strip():
            self.fail(f"is empty: expected {what}", at=key)
        return value

    def child(self, key: str, what: str, required: bool = True) -> "_Node | None":
        value = self.get(key, dict, what, required)
        return None if value is None else _Node(value, self._at(key), self.name)

    def items(self, key: str, what: str, required: bool = False) -> list["_Node"]:
        value = self.get(key, list, f"a list of {what}", required)
        if required and value == []:
            self.fail(f"empty: expected at least one {what}", at=key)
        out = []
        for i, item in enumerate(value or []):
            if not isinstance(item, dict):
                self.fail(f"expected {what}, got {json_kind(item)}", at=f"{key}[{i}]")
            out.append(_Node(item, f"{self._at(key)}[{i}]", self.name))
        return out

    def extensions(self, url: str) -> list["_Node"]:
        return [e for e in self.items("extension", "an extension") if e.value.get("url") == url]

    def extension(self, url: str, required: bool = False) -> "_Node | None":
        found = self.extensions(url)
        if len(found) > 1:
            found[1].fail(f"the extension {url} is given twice: expected it once")
        if not found and required:
            self.fail(f"missing: expected the extension {url}", at="extension")
        return found[0] if found else None

    def part(self, name: str, key: str, kind, what: str, required: bool = True):
        """The ``key`` value of the sub-extension ``name`` of this (complex) extension."""
        found = self.extension(name)
        if found is None:
            if required:
                self.fail(f"missing: expected a sub-extension {name!r} ({what})", at="extension")
            return None
        return found.get(key, kind, what)

    def part_quantity(self, name: str, codes: dict, what: str, required: bool = True) -> str | None:
        """The ``valueQuantity`` of the sub-extension ``name``, as chemo writes it."""
        found = self.extension(name)
        if found is None:
            if required:
                self.fail(f"missing: expected a sub-extension {name!r} ({what})", at="extension")
            return None
        return found.quantity("valueQuantity", codes, what)

    def quantity(self, key: str, codes: dict, what: str, required: bool = True) -> str | None:
        """A UCUM Quantity under ``key`` as chemo writes it ("450 mg/m²"); ``codes``: UCUM code -> chemo unit."""
        q = self.child(key, f"a Quantity ({what})", required)
        return None if q is None else q.ucum(codes, what)

    def ucum(self, codes: dict, what: str) -> str:
        value = self.get("value", (int, float), f"a number ({what})")
        system = self.get("system", str, f"the UCUM system {UCUM}", required=False)
        if system is not None and system != UCUM:
            self.fail(f"{system!r}: expected the UCUM system {UCUM}", at="system")
        code = self.get("code", str, f"a UCUM unit code ({', '.join(codes)})")
        if code not in codes:
            self.fail(f"{code[:40]!r} is not a unit chemo reads here: expected one of {', '.join(codes)} (UCUM)",
                      at="code")
        if value < 0:
            self.fail(f"{value}: expected a number of 0 or more", at="value")
        unit = codes[code]
        shown = self.get("unit", str, "the unit as shown to a reader", required=False)
        if shown is not None and shown != code and not _same_unit(shown, unit):
            self.fail(f"{shown[:40]!r} is shown for the code {code!r} ({unit}): a reader would see another unit",
                      at="unit")
        return f"AUC {number_text(value)}" if unit == "AUC" else f"{number_text(value)} {unit}"


def _check_frequency(timing: _Node, times: int) -> None:
    """A line's ``timing.repeat``, if given: ``times`` a day (``frequency``) every day (``period`` 1 ``d``)."""
    repeat = timing.child("repeat", "a Timing.repeat", required=False)
    if repeat is None:
        return
    frequency = repeat.get("frequency", int, "how many times a day", required=False)
    if frequency is not None and frequency != times:
        repeat.fail(f"{frequency} times a day, but {times} time{'s' * (times != 1)} of the day "
                    f"({EXT}at) given", at="frequency")
    period = repeat.get("period", (int, float), "1 (each day of the line)", required=False)
    unit = repeat.get("periodUnit", str, "d", required=False)
    if (period is not None and period != 1) or (unit is not None and unit != "d"):
        repeat.fail(f"every {period} {unit}: expected every day (period 1 d); the days of a line are its "
                    f"action's {NZ_TIMING_OF_DAYS} extensions", at="period")


def _modifier_extension(doc) -> str | None:
    """The JSON path of the first ``modifierExtension`` in the document, if any (walked without recursion)."""
    stack = [(doc, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            if "modifierExtension" in value:
                return f"{path}.modifierExtension".lstrip(".")
            stack.extend((v, f"{path}.{k}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
    return None


def _same_unit(shown: str, unit: str) -> bool:
    """Whether the unit shown (``mg/m²`` for the code ``mg/m2``) is the code's unit, as chemo reads units."""
    from ..units import parse_quantity

    if unit == "AUC":
        return False
    try:
        a, b = parse_quantity(f"1 {shown}"), parse_quantity(f"1 {unit}")
        return a.dimensionality == b.dimensionality and abs(a.to(b.units).magnitude - 1) < 1e-12
    except (ChemoError, ValueError, TypeError, AttributeError):
        return False


# ------------------------------------------------------------------ reading a file

def read_json(data: bytes, name: str) -> dict:
    """A JSON object from a file's bytes; a RegimenError (not JSON, too large, not an object) otherwise."""
    if len(data) > MAX_JSON_BYTES:
        raise RegimenError(f"file is {len(data):,} bytes; a FHIR regimen is at most {MAX_JSON_BYTES:,}", file=name)
    try:
        return fhir_object(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise RegimenError(f"not UTF-8 text (bad byte at offset {exc.start}): expected FHIR JSON", file=name) from None
    except NotFhirJson as exc:
        raise RegimenError(f"{exc}; expected a FHIR PlanDefinition or Bundle", file=name) from None


def import_regimen(doc: dict, name: str = "", library=None) -> str:
    """The regimen file (TOML text) of a FHIR PlanDefinition, or of a Bundle holding one, checked by
    chemo's own regimen checks; a RegimenError naming ``name`` and the element otherwise."""
    import tomli_w

    from ..datafile import parse_toml
    from ..library import load_library
    from ..regimen import check_regimen

    modifier = _modifier_extension(doc)
    if modifier is not None:  # it changes the meaning of the element it sits on: a reader that does not know it refuses
        raise RegimenError("a modifierExtension, which chemo does not know: it may change what the element means",
                           file=name or None, field=modifier)
    plan, resources = _plan(_Node(doc, "", name))
    reader = _Reader(plan, resources, name)
    document = reader.regimen()
    text = tomli_w.dumps(document)
    library = library or load_library()
    regimen, problems = check_regimen(parse_toml(text.encode("utf-8"), name or "(import)"), library)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RegimenError(f"{reader.origin(first.path)}: {first.message}{more}", file=name or None)
    if regimen is None:  # every None comes with a problem; a bug if reached
        raise RegimenError("could not be read as a regimen", file=name or None)
    reader.check_entries(regimen)
    _check_texts(reader, regimen, library)
    _check_digest(plan)
    return text


def _check_digest(plan: "_Node") -> None:
    """Last: the document is the one chemo exported (ext ``content-sha256``, :func:`chemo.fhir.content_digest`).
    Every part was read and checked by then; this finds a part lost or changed that still reads as a regimen."""
    stated = plan.extension(DIGEST, required=True).get("valueString", str, "the SHA-256 of the document")
    if stated != content_digest(plan.value):
        plan.fail(f"the document is not as chemo exported it (its {DIGEST} no longer matches): an element was "
                  "lost, added or changed after the export; import reads chemo's own export back, unchanged",
                  at="extension")


def _check_texts(reader, regimen, library) -> None:
    """What a FHIR reader shows or acts on, written again from the regimen read, must be what the document
    says: a gate's FHIRPath expression and description, a line's description (``75 mg/m² per cycle, ...``)."""
    from .export import export_regimen

    cycle = export_regimen(regimen, library)["action"][0]
    for condition, (node, written, description) in zip(cycle.get("condition", ()), reader.expressions):
        expected = condition["expression"]
        if written is not None and written != expected["expression"]:  # a FHIR reader acts on it
            node.fail(f"{written[:80]!r} disagrees with the gate its extension gives, {expected['expression']!r}",
                      at="expression")
        if description is not None and description != expected["description"]:
            node.fail(f"{description[:80]!r} disagrees with the gate its extension gives, "
                      f"{expected['description']!r}", at="description")
    offsets = {"drug": 0, "derived": len(regimen.drugs), "supportive": len(regimen.drugs) + len(regimen.derived)}
    for act, kind, index in reader.line_actions:
        expected = cycle["action"][offsets[kind] + index]["description"]
        description = act.get("description", str, "the line, in words", required=False)
        if description is not None and description != expected:
            act.fail(f"{description[:80]!r} disagrees with the line its ActivityDefinition gives, {expected!r}",
                     at="description")


def _plan(root: _Node) -> tuple[_Node, dict]:
    """The PlanDefinition of the document, and the ActivityDefinitions a Bundle holds by their url."""
    kind = root.value.get("resourceType")
    if kind == "PlanDefinition":
        root.path = "PlanDefinition"
        return root, {}
    if kind != "Bundle":
        shown = repr(kind)[:40] if kind is not None else "missing"
        raise RegimenError(f"{shown}: expected a PlanDefinition, or a Bundle holding one",
                           file=root.name or None, field="resourceType")
    root.path = "Bundle"
    plans, resources = [], {}
    for entry in root.items("entry", "a Bundle entry"):
        resource = entry.child("resource", "a resource")
        if resource is None:
            continue
        if resource.value.get("resourceType") == "PlanDefinition":
            plans.append(resource)
        elif resource.value.get("resourceType") == "ActivityDefinition":
            for key in (resource.value.get("url"), entry.value.get("fullUrl")):
                if isinstance(key, str):
                    resources[key] = resource
    if len(plans) != 1:
        root.fail(f"holds {len(plans)} PlanDefinitions: expected exactly one", at="entry")
    return plans[0], resources


_DAYS = {"d": "days", "wk": "weeks"}
_PERCENT = {"%": "%"}
_HOURS = {"h": "h", "min": "min"}


class _Reader:
    """Builds the TOML document of a regimen from its PlanDefinition, noting which JSON element each
    TOML table came from (:meth:`origin`)."""

    def __init__(self, plan: _Node, resources: dict, name: str):
        self.plan, self.resources, self.name = plan, resources, name
        self.origins: dict = {}  # TOML path prefix -> JSON path
        self.expressions: list = []  # (the Expression node, its FHIRPath text, its description), one per gate
        self.line_actions: list = []  # (the action node, its kind, its index among the lines of that kind)
        self.entries: _Node | None = None  # ext ``entries``: how many of each entry the exporter wrote

    def origin(self, toml_path: str) -> str:
        best = max((k for k in self.origins if toml_path == k or toml_path.startswith(k + ".")
                    or toml_path.startswith(k + "[")), key=len, default=None)
        where = self.origins[best] if best is not None else self.plan.path
        return f"{where} (regimen {toml_path})"

    def regimen(self) -> dict:
        p = self.plan
        doc = {}
        ids = [i for i in p.items("identifier", "an Identifier") if i.value.get("system") == REGIMEN_ID_SYSTEM]
        doc["id"] = ids[0].get("value", str, "the regimen id") if ids else p.get("id", str, "the regimen id")
        version = p.get("version", str, "the regimen's version", required=False)
        if version is not None:
            doc["version"] = version
        doc["name"] = p.get("title", str, "the regimen's name")
        doc["indication"] = p.get("description", str, "the regimen's indication")
        doc["source"] = self._citation(p)
        status = p.get("status", str, '"active" or "retired"')
        if status not in ("active", "retired"):
            p.fail(f"{status[:40]!r}: expected active or retired (the status chemo exports)", at="status")
        self.origins[""] = p.path
        cycles = p.items("action", "an action (the cycle)", required=True)
        if len(cycles) != 1:
            p.fail(f"{len(cycles)} top-level actions: expected one, the cycle", at="action")
        cycle = cycles[0]
        repeat = cycle.child("timingTiming", "a Timing (cycles and their length)").child("repeat", "a Timing.repeat")
        doc["cycles"] = repeat.get("count", int, "the number of cycles")
        period = repeat.get("period", (int, float), "the cycle length")
        unit = repeat.get("periodUnit", str, "the unit of the cycle length (d)")
        if unit not in _DAYS:
            repeat.fail(f"{unit[:20]!r}: expected d or wk", at="periodUnit")
        doc["cycle_length"] = self.cycle_length = f"{number_text(period)} {_DAYS[unit]}"
        doc["day_split"] = p.extension(EXT + "day-split", required=True).get("valueString", str, "text")
        emeto = p.extension(EXT + "emetogenic-class")
        if emeto is not None:
            doc["emetogenic_class"] = emeto.get("valueCode", str, "an emetogenic class")
        self._plan_extensions(p, doc, status)
        self._lines(cycle, doc)
        gates = []
        for i, cond in enumerate(cycle.items("condition", "a condition")):
            self.origins[f"thresholds[{i + 1}]"] = cond.path
            gates.append(self._gate(cond))
        if gates:
            doc["thresholds"] = gates
        self.entries = p.extension(EXT + "entries", required=True)
        return doc

    def check_entries(self, regimen) -> None:
        """The counts of ext ``entries`` are those of the regimen read: an optional extension or element lost on
        the way (a server that drops unknown extensions, an edit) is refused, not read as a regimen without it."""
        entries, found = self.entries, entry_counts(regimen)
        for key in ENTRIES:
            stated = entries.part(key.replace("_", "-"), "valueInteger", int, f"how many {key} the regimen has")
            if stated != found[key]:
                entries.fail(f"{key.replace('_', '-')}: the regimen has {stated} (extension {EXT}entries), the "
                             f"document gives {found[key]}: an element or extension is missing or one too many",
                             at="extension")

    # -- the plan
    def _citation(self, node: _Node) -> str:
        for art in node.items("relatedArtifact", "a RelatedArtifact"):
            if art.value.get("type") == "citation":
                return art.get("citation", str, "the source, as text")
        node.fail("missing: expected a RelatedArtifact of type citation (the source)", at="relatedArtifact")

    def _plan_extensions(self, p: _Node, doc: dict, status: str) -> None:
        c = p.extension(EXT + "cumulative", required=True)
        self.origins["cumulative"] = c.path
        doc["cumulative"] = {
            "model": c.part("model", "valueCode", str, "an equivalence model of the library"),
            "cap": c.part_quantity("cap", {"mg/m2": "mg/m²"}, "the cap, mg/m2"),
            "warn_at": c.part_quantity("warn-at", {"mg/m2": "mg/m²"}, "where the warning starts, mg/m2"),
            "source": c.part("source", "valueString", str, "the source"),
        }
        w = p.extension(EXT + "early-window")
        if w is not None:
            self.origins["early_window"] = self.origins["early_window_source"] = w.path
            doc["early_window"] = w.part_quantity("days", _DAYS, "days")
            doc["early_window_source"] = w.part("source", "valueString", str, "the source")
        cap = p.extension(EXT + "bsa-cap")
        if cap is not None:
            self.origins["bsa_cap"] = self.origins["bsa_cap_source"] = cap.path
            doc["bsa_cap"] = cap.part_quantity("cap", {"m2": "m²"}, "m2")
            doc["bsa_cap_source"] = cap.part("source", "valueString", str, "the source")
        notes = []
        for n in p.extensions(EXT + "note"):
            self.origins[f"notes[{len(notes) + 1}]"] = n.path
            notes.append({"text": n.part("text", "valueString", str, "the note"),
                          "source": n.part("source", "valueString", str, "the source")})
        if notes:
            doc["notes"] = notes
        bands = []
        for b in p.extensions(EXT + "dose-band"):
            self.origins[f"modifications[{len(bands) + 1}]"] = b.path
            band = {"drug": b.part("drug", "valueCode", str, "a drug of the regimen"),
                    "analyte": b.part("analyte", "valueCode", str, "an analyte of the library")}
            for key in ("from", "above", "to", "below"):
                value = b.part(key, "valueString", str, "a lab value with its unit", required=False)
                if value is not None:
                    band[key] = value
            band["give"] = b.part_quantity("give", _PERCENT, "the percentage of the dose given")
            band["source"] = b.part("source", "valueString", str, "the source")
            bands.append(band)
        if bands:
            doc["modifications"] = bands
        retired = p.extension(EXT + "retired")
        if (retired is not None) != (status == "retired"):
            p.fail(f"status {status!r} " + ("with" if retired is not None else "without")
                   + f" the extension {EXT}retired: a retired regimen has both, an active one neither", at="status")
        if retired is not None:
            self.origins["retired"] = retired.path
            when = retired.part("date", "valueDate", str, "the date it was retired (YYYY-MM-DD)")
            try:
                date = datetime.date.fromisoformat(when)
            except ValueError:
                retired.fail(f"{when[:20]!r}: expected a date, YYYY-MM-DD", at="extension")
            doc["retired"] = {"date": date, "reason": retired.part("reason", "valueString", str, "the reason")}
            by = p.extension(NZ_REPLACED_BY)
            if by is not None:
                ref = by.child("valueReference", "a Reference(PlanDefinition)").get(
                    "reference", str, "PlanDefinition/<regimen id>")
                if not ref.startswith("PlanDefinition/"):
                    by.fail(f"{ref[:40]!r}: expected PlanDefinition/<regimen id>", at="valueReference.reference")
                doc["retired"]["replaced_by"] = ref.removeprefix("PlanDefinition/")

    # -- the lines
    def _lines(self, cycle: _Node, doc: dict) -> None:
        contained = {}
        for r in self.plan.items("contained", "a contained resource"):
            rid = r.value.get("id")
            if r.value.get("resourceType") == "ActivityDefinition" and isinstance(rid, str):
                if f"#{rid}" in contained:
                    r.fail(f"{rid[:60]!r}: a second contained resource with this id (an id names one)", at="id")
                contained[f"#{rid}"] = r
        tables = {"drug": [], "derived": [], "supportive": []}
        used, derived_days = {}, []
        for act in cycle.items("action", "an action (a line of the cycle)", required=True):
            ref = act.get("definitionCanonical", str, "the ActivityDefinition of the line (#id)")
            activity = contained.get(ref) or self.resources.get(ref)
            if activity is None:
                act.fail(f"{ref[:60]!r} names no contained ActivityDefinition (nor one of the Bundle)",
                         at="definitionCanonical")
            if ref in used:  # two actions of one definition: one line given twice, or two lines merged
                act.fail(f"{ref[:60]!r} is the definition of {used[ref]} too: expected one ActivityDefinition "
                         "per line", at="definitionCanonical")
            used[ref] = act.path
            days = []
            for d in act.extensions(NZ_TIMING_OF_DAYS):
                days.append(d.part("day", "valueInteger", int, "a day of the cycle"))
            if not days:
                act.fail(f"missing: expected the days of the cycle (extension {NZ_TIMING_OF_DAYS})", at="extension")
            kind = activity.extension(EXT + "line-kind", required=True).get("valueCode", str,
                                                                            "drug, derived or supportive")
            if kind not in tables:
                activity.fail(f"{kind[:20]!r}: expected drug, derived or supportive", at="extension")
            key = {"drug": "drugs", "derived": "derived", "supportive": "supportive"}[kind]
            self.origins[f"{key}[{len(tables[kind]) + 1}]"] = activity.path
            self.line_actions.append((act, kind, len(tables[kind])))
            tables[kind].append(getattr(self, f"_{kind}")(activity, days))
            if kind == "derived":
                derived_days.append((act, tables[kind][-1]["from"], days))
        unused = [r for ref, r in contained.items() if ref not in used]
        if unused:
            unused[0].fail("is the definition of no action of the cycle: expected each contained "
                           "ActivityDefinition to be a line of it", at="id")
        parents = {line["drug"]: line["days"] for line in tables["drug"]}
        for act, parent, days in derived_days:  # a derived line is given on its parent's days (chemo.regimen)
            if parent in parents and sorted(days) != sorted(parents[parent]):
                act.fail(f"days {', '.join(map(str, days))}: a line derived from {parent} is given on its days "
                         f"({', '.join(map(str, parents[parent]))})", at="extension")
        for kind, key in (("drug", "drugs"), ("derived", "derived"), ("supportive", "supportive")):
            if tables[kind]:
                doc[key] = tables[kind]

    def _common(self, a: _Node) -> tuple[dict, _Node]:
        kind = a.get("kind", str, "MedicationRequest")
        if kind != "MedicationRequest":
            a.fail(f"{kind[:40]!r}: expected MedicationRequest", at="kind")
        dosages = a.items("dosage", "a Dosage", required=True)
        if len(dosages) != 1:
            a.fail(f"{len(dosages)} dosages: expected one", at="dosage")
        dosage = dosages[0]
        route = dosage.child("route", "the route (a CodeableConcept)")
        coded = [c for c in route.items("coding", "a Coding") if c.value.get("system") == CODES + "route"]
        line = {"route": coded[0].get("code", str, "a route") if coded else route.get("text", str, "the route")}
        line["source"] = self._citation(a)
        return line, dosage

    def _product(self, a: _Node, kind: str) -> str:
        product = a.child("productCodeableConcept", f"the {kind} (a CodeableConcept)")
        for c in product.items("coding", "a Coding"):
            if c.value.get("system") == CODES + kind:
                return c.get("code", str, f"a {kind} id of chemo's library")
        product.fail(f"missing: expected a coding of the system {CODES}{kind} (the {kind}'s id in chemo's library); "
                     "other codes are not mapped", at="coding")

    def _dose(self, dosage: _Node, required: bool = True, per_required: bool = False) -> tuple:
        """(the dose as written, its per, the doseQuantity as chemo writes it, the path of doseQuantity)."""
        rates = dosage.items("doseAndRate", "a doseAndRate", required=required)
        if len(rates) > 1:
            dosage.fail(f"{len(rates)} doses (doseAndRate): expected one", at="doseAndRate")
        quantity = rates[0].quantity("doseQuantity", DOSE_UCUM, "a dose") if rates else None
        written = dosage.extension(EXT + "dose-as-written")
        text = per = None
        if written is not None:
            text = written.part("text", "valueString", str, "the dose as written")
            per = written.part("per", "valueCode", str, "day or cycle", required=per_required)
        return text, per, quantity, (rates[0].path + ".doseQuantity" if rates else dosage.path)

    def _check_dose(self, text, per, quantity, where: str, n_days: int) -> None:
        from ..units import parse_dose

        node = _Node(None, where, self.name)
        try:
            dose = parse_dose(text)
            given = parse_dose(quantity) if quantity else None
        except ChemoError as exc:
            node.fail(f"{exc.message}")
        if given is None:
            return
        daily = dose.amount / n_days if per == "cycle" else dose.amount
        if given.basis is not dose.basis or abs(given.amount - daily) > 1e-9 * max(1.0, abs(daily)):
            node.fail(f"{quantity} disagrees with the dose as written, {text!r}"
                      + (f" per cycle over {n_days} days" if per == "cycle" else ""))

    def _check_per_period(self, dosage: _Node, text: str, per: str, n_days: int) -> None:
        """``maxDosePerPeriod``, if given: the dose of a cycle over the cycle's length."""
        from ..units import parse_dose, parse_quantity

        limit = dosage.child("maxDosePerPeriod", "a Ratio (the dose of a cycle)", required=False)
        if limit is None:
            return
        total = limit.quantity("numerator", DOSE_UCUM, "the dose of a cycle")
        period = limit.quantity("denominator", _DAYS, "the cycle length")
        try:
            dose, given = parse_dose(text), parse_dose(total)
            same_period = parse_quantity(period, "day") == parse_quantity(self.cycle_length, "day")
        except ChemoError as exc:
            limit.fail(exc.message)
        cycle = dose.amount if per == "cycle" else dose.amount * n_days
        if given.basis is not dose.basis or abs(given.amount - cycle) > 1e-9 * max(1.0, abs(cycle)):
            limit.fail(f"{total} a cycle disagrees with the dose as written, {text!r} "
                       f"{'per cycle' if per == 'cycle' else f'a day on {n_days} days'}", at="numerator")
        if not same_period:
            limit.fail(f"{period}: expected the cycle length, {self.cycle_length}", at="denominator")

    def _drug(self, a: _Node, days: list) -> dict:
        line, dosage = self._common(a)
        text, per, quantity, where = self._dose(dosage, per_required=True)
        if text is None:
            text, per = quantity, "day"
        self._check_dose(text, per, quantity, where, len(days))
        self._check_per_period(dosage, text, per or "day", len(days))
        timing = dosage.child("timing", "a Timing", required=False)
        if timing is not None:
            _check_frequency(timing, 1)
        out = {"drug": self._product(a, "drug"), "dose": text, "per": per or "day", "days": days, **line}
        infusion = dosage.get("text", str, "the infusion, as text", required=False)
        if infusion is not None:
            out["infusion"] = infusion
        diluent = a.extension(EXT + "diluent")
        if diluent is not None:
            out["diluent"] = diluent.get("valueCode", str, "a diluent id of the library")
        return out

    def _derived(self, a: _Node, days: list) -> dict:
        line, dosage = self._common(a)
        d = dosage.extension(EXT + "derived-dose", required=True)
        self._no_dose_quantity(dosage, "derived")
        out = {"drug": self._product(a, "drug"), "from": d.part("from", "valueCode", str, "the drug it follows"),
               "fraction": d.part_quantity("fraction", _PERCENT, "a percentage"), **line}
        at = self._times(dosage)
        if at:
            out["schedule"] = at
        infusion = dosage.get("text", str, "the infusion, as text", required=False)
        if infusion is not None:
            out["infusion"] = infusion
        return out

    def _supportive(self, a: _Node, days: list) -> dict:
        line, dosage = self._common(a)
        code = a.child("code", "the supportive category (a CodeableConcept)")
        coded = [c for c in code.items("coding", "a Coding") if c.value.get("system") == CODES + "supportive-category"]
        out = {"category": coded[0].get("code", str, "a category") if coded else code.get("text", str, "a category")}
        at = self._times(dosage)
        if not at:  # chemo writes each time of the day; without them the line's times would be a guess
            dosage.fail(f'missing: expected the times of the day (extension {EXT}at on timing, e.g. "30 min before")',
                        at="timing")
        out.update(days=days, at=at, **line)
        if out["category"] == "hydration":
            out["fluid"] = self._product(a, "fluid")
            rates = dosage.items("doseAndRate", "a doseAndRate", required=True)
            if len(rates) > 1:
                dosage.fail(f"{len(rates)} volumes (doseAndRate): expected one", at="doseAndRate")
            out["volume"] = rates[0].quantity("doseQuantity", {"mL": "mL", "L": "L"}, "a volume")
            repeat = dosage.child("timing", "a Timing").child("repeat", "a Timing.repeat")
            duration = repeat.get("duration", (int, float), "the duration of the infusion")
            unit = repeat.get("durationUnit", str, "h or min")
            if unit not in _HOURS:
                repeat.fail(f"{unit[:20]!r}: expected h or min", at="durationUnit")
            out["duration"] = f"{number_text(duration)} {_HOURS[unit]}"
        else:
            out["drug"] = self._product(a, "drug")
            ratio = dosage.extension(EXT + "ratio-dose")
            if ratio is not None:
                self._no_dose_quantity(dosage, "ratio")
                out["of"] = ratio.part("of", "valueCode", str, "the drug whose dose it follows")
                out["ratio"] = ratio.part("ratio", "valueString", str, 'a ratio ("10:1") or a percentage')
            else:
                text, _, quantity, where = self._dose(dosage)
                text = text or quantity
                self._check_dose(text, "day", quantity, where, 1)
                out["dose"] = text
        instructions = dosage.items("additionalInstruction", "a CodeableConcept")
        if instructions:
            out["target"] = instructions[0].get("text", str, "the target, as text")
        note = dosage.get("text", str, "a note, as text", required=False)
        if note is not None:
            out["note"] = note
        when = a.extension(EXT + "when-cumulative")
        if when is not None:
            out["when_cumulative"] = when.get("valueString", str, "a cumulative dose, e.g. 300 mg/m²")
        return out

    def _times(self, dosage: _Node) -> list:
        """The times of the day (chemo's ``at`` extensions); ``repeat.frequency``, if given, must count them."""
        timing = dosage.child("timing", "a Timing", required=False)
        if timing is None:
            return []
        times = [e.get("valueString", str, 'a time of the day, e.g. "30 min before"')
                 for e in timing.extensions(EXT + "at")]
        _check_frequency(timing, len(times) or 1)
        return times

    def _no_dose_quantity(self, dosage: _Node, what: str) -> None:
        """A line whose dose follows another's carries no doseQuantity of its own (chemo writes none)."""
        if dosage.has("doseAndRate"):
            dosage.fail(f"a {what} line has no doseQuantity of its own: its dose follows another line's "
                        "(a second dose here would be ignored)", at="doseAndRate")

    # -- the gates
    def _gate(self, cond: _Node) -> dict:
        kind = cond.get("kind", str, "applicability")
        if kind != "applicability":
            cond.fail(f"{kind[:40]!r}: expected applicability (a readiness gate)", at="kind")
        expression = cond.child("expression", "an Expression")
        self.expressions.append((expression,
                                 expression.get("expression", str, "a FHIRPath expression", required=False),
                                 expression.get("description", str, "the gate, in words", required=False)))
        g = expression.extension(EXT + "gate", required=True)
        gate = {"kind": g.part("kind", "valueCode", str, "eligibility or retreatment"),
                "analyte": g.part("analyte", "valueCode", str, "an analyte of the library"),
                "op": g.part("op", "valueString", str, "an operator (>, >=, <, <=)"),
                "value": g.part("value", "valueString", str, "a lab value with its unit, or a multiple of ULN")}
        gate["max_age"] = g.part_quantity("max-age", {**_DAYS, "h": "h"}, "how old a result may be")
        action = g.part("action", "valueString", str, "what is done when it fails", required=False)
        if action is not None:
            gate["action"] = action
        each_day = g.part("each-day", "valueBoolean", bool, "true or false", required=False)
        if each_day is not None:
            gate["each_day"] = each_day
        gate["source"] = g.part("source", "valueString", str, "the source")
        return gate
