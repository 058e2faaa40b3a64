from lxml import html as lxml_html

from sectorwatch.extract import walls


def page(inner: str):
    return lxml_html.document_fromstring(f"<html><body>{inner}</body></html>")


def test_configured_marker_and_generic_phrases():
    t = page("<p>Story.</p><div class='panel'>Register Now to Continue Reading</div>")
    assert walls.walled(t, (), None)  # generic
    assert walls.walled(page("<p>CYP Now Digital membership</p>"), ("Digital membership",), None)
    assert not walls.walled(page("<p>Subscribers to the council's newsletter said…</p>"), (), None)


def test_schema_org_paywall_markup():
    assert walls.walled(page("<p>x</p>"), (), {"isAccessibleForFree": "False"})
    assert walls.walled(page("<p>x</p>"), (), {"isAccessibleForFree": False})
    assert not walls.walled(page("<p>x</p>"), (), {"isAccessibleForFree": True})


def test_markers_in_scripts_do_not_count():
    t = page("<p>Story.</p><script>var t = 'Register now to continue reading';</script>")
    assert not walls.walled(t, (), None)


def test_cut_keeps_only_article_text_before_the_wall():
    paras = ["First real paragraph.", "Second real paragraph.",
             "Register Now to Continue Reading", "Thank you for visiting…", "More text"]
    assert walls.cut(paras, ()) == paras[:2]
    long = "An article paragraph that mentions how councils must register now to continue " \
           "reading services " + "and more words " * 30
    assert walls.cut([long], ()) == [long]  # a long paragraph is article text
