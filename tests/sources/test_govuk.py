from sectorwatch.sources.govuk import content_api_url


def test_content_api_url_inserts_api_content_before_the_path():
    assert content_api_url("https://www.gov.uk/government/news/a-b") == \
        "https://www.gov.uk/api/content/government/news/a-b"
    assert content_api_url("http://127.0.0.1:8000/government/news/x") == \
        "http://127.0.0.1:8000/api/content/government/news/x"
    assert content_api_url("https://www.gov.uk/government/news/x", "https://mirror.example/api/") \
        == "https://mirror.example/api/government/news/x"
