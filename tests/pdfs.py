"""Write small, real PDF files (text in Helvetica) for tests: no PDF library needed."""

from __future__ import annotations


def make_pdf(pages: list[list[str]], title: str | None = None,
             created: str | None = None) -> bytes:
    """A PDF with one text line per entry, top to bottom, on each page.

    ``created`` is a PDF date such as ``D:20180322090000Z``.
    """
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
               b"/Encoding /WinAnsiEncoding >>")
    pages_id = len(objects) + 2 * len(pages) + 1  # after every page and its content stream
    kids = []
    for lines in pages:
        ops = [b"BT /F1 11 Tf 50 780 Td 14 TL"]
        for line in lines:
            text = line.encode("cp1252", "replace")
            text = text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
            ops.append(b"(" + text + b") Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
                        b" /Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, content, font)))
    assert add(b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) +
               b"] /Count %d >>" % len(kids)) == pages_id
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    info_parts = []
    if title:
        info_parts.append(b"/Title (" + title.encode("cp1252", "replace") + b")")
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
