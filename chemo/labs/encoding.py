"""Bytes into text for HL7 v2: MLLP framing, and the character set MSH-18 declares.

HL7 v2 messages arrive as bytes.  A file may still carry the MLLP frame an
interface engine wrote around each message (start block ``\\x0b``, end block
``\\x1c`` then CR): those bytes are never HL7 content and are dropped.  The
character set is MSH-18 of the first message: ``ASCII``, ``8859/1`` (ISO-8859-1)
or ``UNICODE UTF-8`` (HL7 v2.5.1 table 0211); any other declared set is refused,
never guessed.  Without MSH-18 the text is read as UTF-8, else (bytes that are
not UTF-8) as ISO-8859-1, the set HL7 v2 systems most often use undeclared.
How it was read is said with each result (``read_as``).
"""

from __future__ import annotations

from .result import ImportFileError

START_BLOCK, END_BLOCK = b"\x0b", b"\x1c"
MSH18_CODECS = {"ASCII": "ascii", "8859/1": "latin-1", "UNICODE UTF-8": "utf-8"}  # HL7 table 0211, as read
_SHOWN = {"ascii": "ASCII", "latin-1": "ISO-8859-1", "utf-8": "UTF-8"}


def strip_framing(raw: bytes) -> bytes:
    """The bytes without MLLP start and end blocks (each end block becomes a segment end)."""
    return raw.replace(START_BLOCK, b"").replace(END_BLOCK, b"\r")


def looks_like_hl7(raw: bytes) -> bool:
    head = strip_framing(raw[:64]).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:3] in (b"MSH", b"FHS", b"BHS")


def msh18_values(raw: bytes) -> list[str]:
    """MSH-18 of every MSH segment (first repetition, ``""`` when absent)."""
    out = []
    for line in raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
        line = line.lstrip(b"\xef\xbb\xbf")
        if line[:3] != b"MSH" or len(line) < 8:
            continue
        sep = line[3:4]
        repeat = line[5:6] if len(line) > 5 else b"~"
        fields = line.split(sep)
        value = fields[17] if len(fields) > 17 else b""
        out.append(value.split(repeat)[0].strip().decode("ascii", "replace"))
    return out


def decode_hl7(raw: bytes, name: str = "") -> tuple[str, str]:
    """(text, how it was read) of HL7 v2 bytes; ImportFileError for a set it does not read or bytes
    that are not in the declared set."""
    raw = strip_framing(raw)
    declared = set(msh18_values(raw))
    if len(declared) > 1:
        raise ImportFileError(f"messages declare different character sets in MSH-18 ({', '.join(sorted(declared))}):"
                              " send them in separate files", file=name)
    said = declared.pop() if declared else ""
    if said:
        codec = MSH18_CODECS.get(said.upper())
        if codec is None:
            raise ImportFileError(f"MSH-18 character set {said[:20]!r}: reads {', '.join(MSH18_CODECS)}", file=name)
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"byte {exc.start} is not {_SHOWN[codec]}, which MSH-18 {said!r} declares",
                                  file=name) from None
        return text.lstrip("\ufeff"), f"{_SHOWN[codec]} (MSH-18 {said})"
    try:
        return raw.decode("utf-8-sig"), "UTF-8 (no MSH-18)"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "ISO-8859-1 (no MSH-18, not UTF-8)"
