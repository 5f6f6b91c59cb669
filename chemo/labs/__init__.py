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

Around them (issue 21): :mod:`chemo.labs.encoding` turns HL7 bytes into text
(MSH-18, MLLP framing); :mod:`chemo.labs.site` is the centre's MRN issuers (the
site file); :mod:`chemo.labs.censored` decides a threshold with a censored value
(``<0.5``), for :mod:`chemo.readiness`; :mod:`chemo.labs.listener` is ``chemo labs
listen``, HL7 v2 over MLLP into :func:`importer.import_results`, one transaction and
one ACK per message.  Results of tests no analyte uses are *ignored*, never refused.

The modules import one way only: ucum <- result <- encoding, fhir, hl7 <- importer
<- listener (site and censored stand alone).  This package module imports none of
them, so importing one reads only what it needs.
"""
