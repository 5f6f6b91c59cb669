"""The centre's own MRN issuers: which identifiers in a lab message are this centre's MRNs.

A result is matched to a patient by MRN, and an MRN means something only with its
issuer: another hospital's ``DEMO-022`` is another person.  The site file, which the
pharmacist configures once per centre, lists the issuers whose MRNs are this
centre's: FHIR ``Identifier.system`` URIs and HL7 v2 assigning authorities (PID-3.4,
matched by its namespace id or its universal id).  An identifier issued by anyone
else is refused, "MRN issued by X, not by this centre".  An identifier with no
issuer at all is taken as local only where the site file says so
(``accept_without_issuer = true``).

Where it is: ``--site PATH``, else ``$CHEMO_SITE``, else ``chemo-site.toml`` in
the folder of the SQLite database.  Without one, every imported result is refused
(which issuers are this centre's is not known, and is never guessed)::

    site = "Sarcoma Centre"
    [mrn]
    fhir_systems = ["urn:oid:2.16.840.1.113883.2.4.6.3"]
    hl7_authorities = ["DEMO-HOSP"]
    accept_without_issuer = false
"""

from __future__ import annotations

import os
from pathlib import Path

from attrs import frozen

from ..errors import ChemoError

SITE_FILE_NAME = "chemo-site.toml"


class SiteFileError(ChemoError):
    """The site file cannot be read (exit 2, as a data file that cannot be read)."""

    exit_code = 2


@frozen
class Site:
    file: str
    name: str
    fhir_systems: tuple = ()
    hl7_authorities: tuple = ()
    accept_without_issuer: bool = False

    def refusal(self, source: str, issuer: str | None) -> str | None:
        """Why an MRN with this issuer is not this centre's, or None when it is."""
        issuer = (issuer or "").strip()
        if not issuer:
            if self.accept_without_issuer:
                return None
            return (f"the MRN carries no issuer ({'identifier.system' if source == 'fhir' else 'PID-3.4'}), and the "
                    f"site file {self.file} does not accept MRNs without one (accept_without_issuer)")
        if source == "fhir":
            if issuer in self.fhir_systems:
                return None
        elif any(part in self.hl7_authorities for part in issuer.split("&")[:2] if part):
            return None
        return f"MRN issued by {issuer}, not by this centre (site file {self.file})"


@frozen
class NoSite:
    """No site file: every MRN is refused, saying where the file is looked for."""

    looked: str

    @property
    def unknown(self) -> str:
        return f"no site file ({self.looked}): which MRN issuers are this centre's is not known"

    def refusal(self, source: str, issuer: str | None) -> str:
        return f"{self.unknown}; the pharmacist writes it (README: the site file)"


def site_path(explicit=None, db_path=None) -> Path | None:
    if explicit:
        return Path(explicit)
    if os.environ.get("CHEMO_SITE"):
        return Path(os.environ["CHEMO_SITE"])
    if db_path is not None:
        return Path(db_path).resolve().parent / SITE_FILE_NAME
    return None


def load_site(explicit=None, db_path=None) -> Site | NoSite:
    """The site file; NoSite when there is none where it is looked for; SiteFileError when it is wrong."""
    from ..datafile import Table, read_toml

    path = site_path(explicit, db_path)
    if path is None:
        return NoSite("give --site or set CHEMO_SITE")
    if not path.exists() and not explicit and not os.environ.get("CHEMO_SITE"):
        return NoSite(f"looked for {path}; give --site or set CHEMO_SITE")
    source = read_toml(path)
    problems = list(source.problems)
    site = None
    if source.document is not None:
        doc = Table(source.document, "", problems, str(path))
        doc.allow("site", "mrn")
        name = doc.text("site")
        mrn = doc.table("mrn")
        if mrn is not None:
            mrn.allow("fhir_systems", "hl7_authorities", "accept_without_issuer")
            systems, authorities = mrn.texts("fhir_systems"), mrn.texts("hl7_authorities")
            accept = mrn.data.get("accept_without_issuer", False)
            if not isinstance(accept, bool):
                mrn.problem("expected true or false", at="accept_without_issuer")
            if not systems and not authorities and accept is not True:
                mrn.problem("lists no issuer: expected fhir_systems and/or hl7_authorities")
            site = Site(str(path), name or "", tuple(s.strip() for s in systems),
                        tuple(a.strip() for a in authorities), accept is True)
    if problems:
        from ..datafile import FILE

        first = problems[0]
        at = first.path if first.path and first.path != FILE else None
        raise SiteFileError(first.message, file=str(path), field=at)
    return site


def demo_site_text(authority: str, system: str) -> str:
    return (f'# chemo site file written by `chemo demo`: the demo centre\'s MRN issuers\n'
            f'site = "chemo demo centre"\n\n[mrn]\nfhir_systems = ["{system}"]\n'
            f'hl7_authorities = ["{authority}"]\naccept_without_issuer = false\n')
