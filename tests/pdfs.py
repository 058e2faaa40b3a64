"""Write small, real PDF files (text in Helvetica) for tests: no PDF library needed."""

from __future__ import annotations

BODY_SIZE = 11  # pt, on a 14 pt line pitch

Entry = str | tuple[str, float] | tuple[str, float, bool]


def _string(text: str) -> bytes:
    raw = text.encode("cp1252", "replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _body(lines: list[Entry]) -> list[bytes]:
    """Text operators for one page's lines, top to bottom. A plain str is an 11 pt line on
    a 14 pt pitch ("" leaves a blank line); ``(text, size)`` is set larger, as a heading is,
    with room above it and a pitch of 1.25 × size; ``(text, size, True)`` is set in bold."""
    ops = [b"BT /F1 11 Tf 50 780 Td 14 TL"]
    size: float = BODY_SIZE
    font = b"/F1"
    for entry in lines:
        text, want, bold = (entry, BODY_SIZE, False) if isinstance(entry, str) else (
            *entry, False)[:3]
        face = b"/F2" if bold else b"/F1"
        if want != size:
            # The space a change of type size leaves: a heading stands apart from its text.
            lead = 14 if want == BODY_SIZE else want * 1.25
            ops.append(b"%s %g Tf %g TL 0 %g Td" % (face, want, lead, -0.4 * max(want, size)))
            size, font = want, face
        elif face != font:
            ops.append(b"%s %g Tf" % (face, size))
            font = face
        ops.append(_string(text) + b" Tj T*")
    ops.append(b"ET")
    return ops


def make_pdf(pages: list[list[Entry]], title: str | None = None,
             created: str | None = None, *, headers: list[str] | None = None,
             footers: list[str] | None = None) -> bytes:
    """A PDF with one text line per entry, top to bottom, on each page.

    ``created`` is a PDF date such as ``D:20180322090000Z``. ``headers`` and ``footers``
    (one per page) are set in 9 pt in the top and bottom margins, written after the page's
    text as a browser's print does.
    """
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
               b"/Encoding /WinAnsiEncoding >>")
    fonts = b"/F1 %d 0 R" % font
    if any(not isinstance(e, str) and len(e) > 2 and e[2] for page in pages for e in page):
        bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold "
                   b"/Encoding /WinAnsiEncoding >>")
        fonts += b" /F2 %d 0 R" % bold
    pages_id = len(objects) + 2 * len(pages) + 1  # after every page and its content stream
    kids = []
    for k, lines in enumerate(pages):
        ops = _body(lines)
        for margin, y in ((headers, 815), (footers, 20)):
            if margin:
                ops.append(b"BT /F1 9 Tf 1 0 0 1 30 %d Tm " % y + _string(margin[k]) + b" Tj ET")
        stream = b"\n".join(ops)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
                        b" /Resources << /Font << %s >> >> >>" % (pages_id, content, fonts)))
    assert add(b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) +
               b"] /Count %d >>" % len(kids)) == pages_id
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    info_parts = []
    if title:
        info_parts.append(b"/Title " + _string(title))
    if created:
        info_parts.append(b"/CreationDate (" + created.encode() + b")")
    info = add(b"<< " + b" ".join(info_parts) + b" >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += (b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, catalog, info, xref))
    return bytes(out)
