from sectorwatch.decode import decode, header_charset, strip_controls

TEXT = "The council’s £3.5m plan – “inadequate”, says Ofsted. Café."


def test_header_charset_wins():
    assert decode(TEXT.encode("cp1252"), "text/html; charset=windows-1252") == (TEXT, "cp1252")


def test_meta_charset_is_used_when_header_has_none():
    body = b'<html><head><meta charset="windows-1252"></head>' + TEXT.encode("cp1252")
    text, encoding = decode(body, "text/html")
    assert TEXT in text and encoding == "cp1252"


def test_unlabelled_cp1252_is_detected():
    text, encoding = decode(f"<p>{TEXT}</p>".encode("cp1252"), "text/html")
    assert text == f"<p>{TEXT}</p>" and encoding == "cp1252"


def test_unlabelled_utf8_is_detected():
    assert decode(TEXT.encode("utf-8"), "")[0] == TEXT


def test_wrong_label_falls_back_to_detection():
    text, _ = decode(TEXT.encode("utf-8"), "text/html; charset=ascii-but-not-really")
    assert text == TEXT
    # labelled utf-8 but really cp1252: the label is wrong, so the bytes decide
    assert decode(TEXT.encode("cp1252"), "text/html; charset=utf-8")[0] == TEXT


def test_latin1_label_means_windows_1252():
    assert header_charset("text/html; charset=ISO-8859-1") == "cp1252"


def test_bom_decides():
    assert decode("\ufeff" .encode("utf-8") + TEXT.encode("utf-8"), "")[0] == TEXT
    assert decode(TEXT.encode("utf-16"), "")[0] == TEXT


def test_control_bytes_are_stripped_for_xml():
    assert strip_controls(b"<a>x\x1by\x00</a>\n") == b"<a>xy</a>\n"


def test_gzip_bytes_are_left_alone():
    import gzip

    blob = gzip.compress(b"<urlset/>" * 50)
    assert strip_controls(blob) == blob
