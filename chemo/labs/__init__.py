"""Lab results in from the laboratory system: FHIR R4 JSON and HL7 v2.x ORU^R01.

The read side turns a file into :class:`chemo.labs.result.LabResult` values and
never touches the record: :mod:`chemo.labs.fhir` (an ``Observation``, or a
``Bundle`` of them), :mod:`chemo.labs.hl7` (one or many ORU^R01 messages) and
:mod:`chemo.labs.ucum` (the UCUM unit codes chemo reads).  Analytes are matched
by LOINC code (``regimens/library/analytes.toml``) and each value goes through
the same checks as a typed result (:func:`chemo.records.parse_lab`) while the
file is read, outside the record's write lock.

:mod:`chemo.labs.importer` takes them into the record: the patient matched by
MRN, duplicates, corrections and retractions, one transaction per file
(``import_file``, ``import_files``; ``read_file`` reads without writing).

The modules import one way only: ucum <- result <- fhir, hl7 <- importer.  This
package module imports none of them, so importing one reads only what it needs.
"""
