"""The records passed between stages: a page from its bytes."""

from sectorwatch.models import Page


def test_a_page_from_bytes_is_decoded_once_by_its_charset():
    page = Page.from_bytes("https://news.example/a", "Café £5".encode("cp1252"),
                           "text/html; charset=windows-1252")
    assert (page.text, page.final_url, page.status, page.pdf) == \
        ("Café £5", "https://news.example/a", 200, False)


def test_binary_bodies_are_left_as_bytes():
    pdf = Page.from_bytes("https://council.example/paper", b"%PDF-1.7\n...", "text/html")
    assert pdf.text is None and pdf.pdf  # sniffed, whatever the header says
    gz = Page.from_bytes("https://x.example/f", b"\x1f\x8b\x08\x00rest", "text/xml")
    assert gz.text is None and not gz.pdf
    typed = Page.from_bytes("https://x.example/p", b"not sniffable", "application/pdf")
    assert typed.text is None and typed.pdf
