"""The command line as a user meets it: a real process, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sectorwatch.config import load_config
from tests.conftest import FAST_FETCH, LOREM, article_html, rss


def sw(*args: str, cwd: Path, env_config: str | None = None) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k != "SECTORWATCH_CONFIG"}
    env["COLUMNS"] = "200"
    if env_config:
        env["SECTORWATCH_CONFIG"] = env_config
    return subprocess.run([sys.executable, "-m", "sectorwatch.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_config_check_reports_three_mistakes_and_exits_2(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("""\
fetch:
  per_host_dely: 5s
sources:
  - {id: a, type: feed, url: "https://example.org/feed"}
  - {id: a, type: feed, url: "https://example.org/other"}
  - {id: c, type: atom, url: "https://example.org/x"}
""")
    result = sw("--config", str(bad), "config", "check", cwd=tmp_path)
    assert result.returncode == 2
    for path in ("fetch.per_host_dely", "sources[1].id", "sources[2].type"):
        assert path in result.stderr
    assert "3 problems" in result.stderr


def test_config_is_found_through_the_environment(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text("sources: []\n")
    result = sw("config", "check", cwd=tmp_path, env_config=str(good))
    assert result.returncode == 0 and "mine.yaml" in result.stdout


def test_built_in_config_checks_clean(tmp_path):
    result = sw("config", "check", cwd=tmp_path)
    assert result.returncode == 0 and "8 sources (7 enabled)" in result.stdout


def test_usage_error_exits_2(tmp_path):
    assert sw("fetch", "--no-such-flag", cwd=tmp_path).returncode == 2
    assert sw("articles", "--since", "last tuesday", cwd=tmp_path).returncode == 2


def test_fetch_sources_articles(tmp_path, make_site):
    site = make_site()
    site.route("/feed", rss(site.base, [("/news/a", "Alpha story")]), "application/rss+xml")
    site.route("/news/a", article_html("Alpha story", LOREM))
    config = tmp_path / "config.yaml"
    config.write_text(f'database_url: "sqlite:///{tmp_path}/sw.db"\n{FAST_FETCH}\nsources:\n'
                      f"  - {{id: ok-source, type: feed, url: '{site.base}/feed'}}\n"
                      f"  - {{id: broken, type: feed, url: '{site.base}/missing'}}\n")
    result = sw("fetch", cwd=tmp_path)  # ./config.yaml is picked up
    assert result.returncode == 1, result.stderr
    assert "ok-source" in result.stdout and "HTTP 404" in result.stdout

    result = sw("sources", cwd=tmp_path)
    assert result.returncode == 0
    assert "failing since" in result.stdout and "1 error: fetch: HTTP 404" in result.stdout

    result = sw("articles", "--format", "json", "--source", "ok-source", cwd=tmp_path)
    [item] = json.loads(result.stdout)
    assert item["title"] == "Alpha story" and item["source"] == "ok-source"
    assert "Ofsted inspectors found" in item["text"]

    result = sw("fetch", "--dry-run", "--source", "ok-source", cwd=tmp_path)
    assert result.returncode == 0 and "known" in result.stdout


def test_unknown_source_is_a_usage_error(tmp_path):
    (tmp_path / "config.yaml").write_text(f'database_url: "sqlite:///{tmp_path}/sw.db"\n'
                                          "sources: []\n")
    result = sw("fetch", "--source", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "no such source: nope" in result.stderr


SITES = Path(__file__).resolve().parents[1] / "src" / "sectorwatch" / "demo" / "sites"
CYP_SEED = SITES / "www.cypnow.co.uk" / "content" / "news" / \
    "ofsted-judges-council-inadequate-for-leaving-children-at-risk.html"


def test_extract_a_saved_page_as_json_and_text(tmp_path):
    result = sw("extract", str(CYP_SEED), "--source", "cypnow-news", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert article["title"] == "Ofsted judges council 'inadequate' for leaving children at risk"
    assert not article["text"].startswith(article["title"])
    assert article["standfirst"].startswith("A council's children's services department")
    assert (article["author"], article["published"][:10]) == ("Joe Lepper", "2017-01-24")
    assert "Digital membership" not in article["text"] and not article["truncated"]
    text = sw("extract", str(CYP_SEED), "--format", "text", cwd=tmp_path)
    assert text.stdout.splitlines()[0] == article["title"] and "(dateline)" in text.stdout
    assert not (tmp_path / "data").exists()  # looking creates no database


def test_extract_a_url_and_a_pdf(tmp_path, make_site):
    from tests.pdfs import make_pdf

    site = make_site()
    site.route("/news/a", article_html("Alpha story", LOREM))
    result = sw("extract", f"{site.base}/news/a", cwd=tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout)["title"] == "Alpha story"
    assert site.requests[-1][1]["user-agent"].startswith("sectorwatch/")
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(make_pdf([["Ofsted monitoring visit letter", *LOREM]], title="Letter"))
    result = sw("extract", str(pdf), "--format", "json", cwd=tmp_path)
    assert json.loads(result.stdout)["text"].startswith("Ofsted monitoring visit letter")
    assert sw("extract", f"{site.base}/missing", cwd=tmp_path).returncode == 1


def test_reextract_applies_new_rules_to_stored_pages(tmp_path, make_site):
    site = make_site()
    site.route("/feed", rss(site.base, [("/news/a", "Alpha story")]), "application/rss+xml")
    site.route("/news/a", article_html("Alpha story", [*LOREM, "Sponsored: buy our report."]))
    config = tmp_path / "config.yaml"
    source = f"  - {{id: s, type: feed, url: '{site.base}/feed'}}\n"
    config.write_text(f'database_url: "sqlite:///{tmp_path}/sw.db"\n{FAST_FETCH}\nsources:\n'
                      f"{source}")
    assert sw("fetch", cwd=tmp_path).returncode == 0
    site.stop()  # re-extraction reads the kept raw pages, never the network
    config.write_text(config.read_text().replace(
        "}\n", ", extract: {drop_paragraphs: ['^Sponsored:']}}\n"))
    result = sw("reextract", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 articles re-extracted: 1 changed, 0 failed" in result.stdout
    [item] = json.loads(sw("articles", "--format", "json", cwd=tmp_path).stdout)
    assert "Sponsored" not in item["text"] and "Ofsted inspectors found" in item["text"]
    assert "0 changed" in sw("reextract", "--source", "s", cwd=tmp_path).stdout


SEED_004 = ("A council's children's services department has been rated \"inadequate\" by Ofsted "
            "for leaving vulnerable children at risk of harm and failing to support care "
            "leavers well enough.\n\nChildren's services at Worcestershire County Council were "
            "rated \"inadequate\" following an inspection in January.\n\n"
            "Inspectors said services provided by Worcestershire County "
            "Council displayed \"widespread and serious\" failures. Many child protection "
            "strategy meetings do not involve all relevant agencies.\n\nMeanwhile, there was "
            "some praise for adoption services, which were handed a judgment of \"requires "
            "improvement\". Inspectors found many children are successfully adopted.")


def test_tag_prints_the_documented_json_shape(tmp_path):
    text = tmp_path / "article.txt"
    text.write_text(SEED_004)
    result = sw("tag", str(text), "--title", "Ofsted judges council 'inadequate'",
                "--date", "2017-01-24", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tags = json.loads(result.stdout)
    [worcs] = tags["authorities"]
    assert (worcs["code"], worcs["name"], worcs["role"]) == ("E10000034", "Worcestershire",
                                                            "primary")
    assert "inspection" in {t["slug"] for t in tags["topics"]}
    assert {(j["grade"], j["scope"], j["kind"], j["date"]) for j in tags["judgements"]} == {
        ("inadequate", "overall", "full inspection", "2017-01"),
        ("requires improvement", "adoption", "full inspection", "2017-01")}
    assert all(j["authority"] == "E10000034" for j in tags["judgements"])
    assert "evidence" not in worcs


def test_tag_takes_a_month_or_a_year_as_the_date(tmp_path):
    text = tmp_path / "article.txt"
    text.write_text("Northamptonshire County Council's children's services were judged "
                    "inadequate by Ofsted in a report published in February.")
    for day, month in (("2018-08", "2018-02"), ("2018", None)):
        result = sw("tag", str(text), "--date", day, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        tags = json.loads(result.stdout)
        assert [a["code"] for a in tags["authorities"]] == ["E10000021"]  # the county then
        assert [j["date"] for j in tags["judgements"]] == [month]
    for bad in ("2018-13", "18-08", "August 2018"):
        result = sw("tag", str(text), "--date", bad, cwd=tmp_path)
        assert result.returncode == 2 and "YYYY-MM-DD, YYYY-MM or YYYY" in result.stderr


def test_tag_explains_from_standard_input(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sectorwatch.cli", "tag", "--explain", "-"],
                            input=SEED_004, capture_output=True, text=True, cwd=tmp_path,
                            timeout=60)
    tags = json.loads(result.stdout)
    evidence = tags["authorities"][0]["evidence"]
    assert evidence[0][0] == "Worcestershire County Council"
    assert SEED_004[evidence[0][1]:].startswith("Worcestershire County Council")
    assert tags["topics"][0]["evidence"]


def test_articles_filter_by_authority_region_topic_and_retag(tmp_path, make_site):
    site = make_site()
    site.route("/feed", rss(site.base, [("/news/w", "Ofsted rates Worcestershire"),
                                        ("/news/k", "Kent foster carers")]),
               "application/rss+xml")
    site.route("/news/w", article_html("Ofsted rates Worcestershire", SEED_004.split("\n\n")))
    site.route("/news/k", article_html("Kent foster carers", [
        "Kent County Council is recruiting foster carers as fostering demand rises.",
        "Foster carers in Kent will receive higher fostering allowances, the council said, "
        "and the fostering service will hold information evenings for new foster carers.",
        LOREM[1]]))
    (tmp_path / "config.yaml").write_text(
        f'database_url: "sqlite:///{tmp_path}/sw.db"\n{FAST_FETCH}\nsources:\n'
        f"  - {{id: s, type: feed, url: '{site.base}/feed'}}\n")
    assert sw("fetch", cwd=tmp_path).returncode == 0

    def titles(*args: str) -> set[str]:
        out = sw("articles", "--format", "json", *args, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return {a["title"] for a in json.loads(out.stdout)}

    assert titles("--authority", "Worcestershire") == {"Ofsted rates Worcestershire"}
    assert titles("--authority", "E10000016") == {"Kent foster carers"}
    assert titles("--region", "West Midlands") == {"Ofsted rates Worcestershire"}
    assert titles("--topic", "fostering") == {"Kent foster carers"}
    assert titles("--region", "South East", "--topic", "inspection") == set()
    bad = sw("articles", "--topic", "knitting", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown topic" in bad.stderr
    assert sw("articles", "--authority", "Atlantis", cwd=tmp_path).returncode == 2
    table = sw("articles", cwd=tmp_path).stdout
    assert "Worcestershire" in table and "fostering" in table

    # A new topic in the config, added to the shipped ones: retag finds it without
    # fetching anything again, and changes nothing else.
    site.stop()
    with (tmp_path / "config.yaml").open("a") as f:
        f.write("topics:\n  - {slug: allowances, label: Allowances, phrases: {allowance: 8}}\n")
    result = sw("retag", cwd=tmp_path)
    assert result.returncode == 0 and "2 articles re-tagged: 1 changed" in result.stdout
    assert titles("--topic", "allowances") == {"Kent foster carers"}
    assert titles("--topic", "inspection") == {"Ofsted rates Worcestershire"}


def test_subscribe_list_export_import_unsubscribe(tmp_path):
    (tmp_path / "config.yaml").write_text(f'database_url: "sqlite:///{tmp_path}/sw.db"\n'
                                          "sources: []\n")
    ok = sw("subscribe", "jo@example.org", "--authority", "Worcestershire", "--topic",
            "inspection", cwd=tmp_path)
    assert ok.returncode == 0 and "follows Worcestershire; inspection" in ok.stdout
    typo = sw("subscribe", "al@example.org", "--region", "West Midland", cwd=tmp_path)
    assert typo.returncode == 2 and "did you mean 'West Midlands'" in typo.stderr
    assert sw("subscribers", "export", "out.csv", cwd=tmp_path).returncode == 0
    assert "jo@example.org,,active,html,E10000034,,inspection" in \
        (tmp_path / "out.csv").read_text()
    (tmp_path / "in.csv").write_text("email,topics\nsam@example.org,fostering|send\n")
    assert "1 added, 0 updated" in sw("subscribers", "import", "in.csv", cwd=tmp_path).stdout
    assert sw("unsubscribe", "jo@example.org", cwd=tmp_path).returncode == 0
    listing = sw("subscribers", "list", "--status", "active", cwd=tmp_path).stdout
    assert "sam@example.org" in listing and "jo@example.org" not in listing
    assert sw("unsubscribe", "nobody@example.org", cwd=tmp_path).returncode == 2


def test_an_unsubscribed_address_stays_unsubscribed_through_import_and_subscribe(tmp_path):
    (tmp_path / "config.yaml").write_text(f'database_url: "sqlite:///{tmp_path}/sw.db"\n'
                                          "sources: []\n")
    for address in ("sam", "jo", "al", "bo"):
        assert sw("subscribe", f"{address}@example.org", cwd=tmp_path).returncode == 0
    assert sw("subscribers", "export", "subs.csv", cwd=tmp_path).returncode == 0
    assert sw("unsubscribe", "sam@example.org", cwd=tmp_path).returncode == 0

    imported = sw("subscribers", "import", "subs.csv", cwd=tmp_path)
    assert imported.returncode == 0
    assert "0 added, 3 updated, 1 skipped" in imported.stdout
    assert "skipped 1 unsubscribed: sam@example.org" in imported.stdout
    again = sw("subscribe", "sam@example.org", "--topic", "adoption", cwd=tmp_path)
    assert again.returncode == 2
    assert "sam@example.org unsubscribed on" in again.stderr and "--resubscribe" in again.stderr
    listing = sw("subscribers", "list", "--status", "unsubscribed", cwd=tmp_path).stdout
    assert "sam@example.org" in listing

    back = sw("subscribe", "sam@example.org", "--resubscribe", cwd=tmp_path)
    assert back.returncode == 0 and "warning" in back.stderr and "recorded" in back.stderr
    history = sw("subscribers", "history", "sam@example.org", cwd=tmp_path).stdout
    assert history.count("active") == 2 and "unsubscribed" in history
    assert "brought back from unsubscribed" in history


def test_an_address_that_cannot_be_mailed_is_refused_at_subscribe(tmp_path):
    (tmp_path / "config.yaml").write_text(f'database_url: "sqlite:///{tmp_path}/sw.db"\n'
                                          "sources: []\n")
    refused = sw("subscribe", "jörg@exämple.de", cwd=tmp_path)
    assert refused.returncode == 2 and "before the @" in refused.stderr
    assert "No subscribers" in sw("subscribers", "list", cwd=tmp_path).stdout or \
        "0 subscribers" in sw("subscribers", "list", cwd=tmp_path).stdout
    assert sw("subscribe", "jo@exämple.de", cwd=tmp_path).returncode == 0
    assert "jo@xn--exmple-cua.de" in sw("subscribers", "list", cwd=tmp_path).stdout


def test_digest_preview_send_and_list_on_fetched_articles(tmp_path, make_site):
    site = make_site()
    site.route("/feed", rss(site.base, [("/news/w", "Ofsted rates Worcestershire"),
                                        ("/news/r", "Roadworks on Bath Road")]),
               "application/rss+xml")
    site.route("/news/w", article_html("Ofsted rates Worcestershire", SEED_004.split("\n\n")))
    site.route("/news/r", article_html("Roadworks on Bath Road", [
        "Worcestershire County Council will close Bath Road for three weeks of resurfacing "
        "from Monday, with diversions signed through the city centre for all traffic."] * 2))
    (tmp_path / "config.yaml").write_text(
        f'database_url: "sqlite:///{tmp_path}/sw.db"\n{FAST_FETCH}\n'
        "digest:\n  outbox_dir: outbox\nsources:\n"
        f"  - {{id: paper, type: feed, url: '{site.base}/feed', relevance_filter: true}}\n")
    assert sw("fetch", cwd=tmp_path).returncode == 0
    week = "2026-W48"  # the feed's items are dated 20-21 November: the issue of Monday 23rd
    sw("subscribe", "jo@example.org", "--authority", "Worcestershire", cwd=tmp_path)
    preview = sw("digest", "preview", "--week", week, "--subscriber", "jo@example.org",
                 cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    text = (tmp_path / "preview" / f"digest-{week}-jo@example.org.txt").read_text()
    assert "Ofsted rates Worcestershire" in text and "Roadworks" not in text
    sw("subscribe", "sam@example.org", cwd=tmp_path)  # another reader's preview: its own file
    assert sw("digest", "preview", "--week", week, "--subscriber", "sam@example.org",
              cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in (tmp_path / "preview").glob("*.html")) == [
        f"digest-{week}-jo@example.org.html", f"digest-{week}-sam@example.org.html"]
    assert (tmp_path / "preview" / f"digest-{week}-jo@example.org.txt").read_text() == text
    sw("unsubscribe", "sam@example.org", cwd=tmp_path)
    first = sw("digest", "send", "--week", week, cwd=tmp_path)
    assert first.returncode == 0 and "sent 1" in first.stdout
    assert sorted(p.suffix for p in (tmp_path / "outbox").iterdir()) == [".eml", ".html"]
    assert "sent 0" in sw("digest", "send", "--week", week, cwd=tmp_path).stdout
    assert week in sw("digest", "list", cwd=tmp_path).stdout
    assert sw("digest", "send", "--week", "next week", cwd=tmp_path).returncode == 2


def test_extract_with_a_source_shows_what_fetch_stores(tmp_path, make_site):
    from tests.test_pipeline import SHORT_STORIES, short_article

    site = make_site("local")
    items = [(f"/news/{i}", title) for i, (title, _) in enumerate(SHORT_STORIES)]
    site.route("/feed", rss(site.base, items), "application/rss+xml")
    for (path, _), (title, paragraphs) in zip(items, SHORT_STORIES, strict=True):
        site.route(path, short_article(title, paragraphs))
    (tmp_path / "config.yaml").write_text(
        f'database_url: "sqlite:///{tmp_path}/sw.db"\n{FAST_FETCH}\nsources:\n'
        f"  - {{id: local, type: feed, url: '{site.base}/feed'}}\n")

    def extracted(path: str) -> tuple[str, str]:
        result = sw("extract", f"{site.base}{path}", "--source", "local", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["text"], result.stderr

    # Before the first fetch, the template is learned as that fetch will learn it.
    before, note = extracted("/news/1")
    assert "template learned from 4 pages of local" in note
    assert not (tmp_path / "sw.db").exists()
    assert sw("fetch", cwd=tmp_path).returncode == 0
    stored = {a["url"].rsplit("/", 1)[1]: a["text"] for a in
              json.loads(sw("articles", "--format", "json", cwd=tmp_path).stdout)}
    assert len(stored) == 4 and stored["1"] == before
    for path, _ in items:
        assert extracted(path)[0] == stored[path.rsplit("/", 1)[1]]


def test_group_prints_stories_and_why_and_names_a_bad_line(tmp_path):
    text = ("Ofsted rated Sandwell council's children's services inadequate after finding "
            "that social workers missed risks to children in the borough. ")
    rows = [{"id": "a", "title": "Sandwell rated inadequate", "text": text * 3,
             "source": "cypnow", "published": "2024-06-03"},
            {"id": "b", "title": "Ofsted: Sandwell inadequate", "text": text * 2 + "More.",
             "source": "bbc", "published": "2024-06-04"},
            {"id": "c", "title": "Budget set", "text": "Kent council set its budget.",
             "published": "2024-06-05"}]
    path = tmp_path / "week.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = sw("group", str(path), "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stories = json.loads(result.stdout)["stories"]
    assert sorted(sorted(s["members"]) for s in stories) == [["a", "b"], ["c"]]
    joined = next(s for s in stories if len(s["members"]) == 2)
    assert joined["joins"][0]["words"] > 0.5 and "sandwell" in joined["joins"][0]["shared_words"]
    text_out = sw("group", str(path), cwd=tmp_path)
    assert "3 articles, 2 stories (1 told by more than one)" in text_out.stdout
    path.write_text(json.dumps(rows[0]) + "\n{\"id\": \"x\", \"title\": 1}\n")
    bad = sw("group", str(path), cwd=tmp_path)
    assert bad.returncode == 2
    assert "week.jsonl: line 2: missing 'text'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_binary_input_and_an_absurd_age_get_answers_not_tracebacks(tmp_path):
    noise = bytes(range(256)) * 40
    result = subprocess.run([sys.executable, "-m", "sectorwatch.cli", "tag", "-"],
                            input=noise, capture_output=True, timeout=60)
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    assert json.loads(result.stdout)["authorities"] == []
    old = sw("articles", "--since", "99999999999d", cwd=tmp_path)
    assert old.returncode == 2 and "reaches back before the year 1" in old.stderr
    assert "Traceback" not in old.stderr


def test_the_run_table_fits_80_columns_and_says_why_a_source_is_partial():
    from rich.console import Console

    from sectorwatch.cli.fetching import summary_table
    from sectorwatch.config import load_config
    from sectorwatch.pipeline import RunReport, SourceReport

    report = RunReport(7, [
        SourceReport("childrenfirst-news", "partial", 3, 12, 2, 18, 4.2,
                     error="HTTP 500 from https://www.childrenfirst.news/x"),
        SourceReport("ofsted-news-govuk-feed", "failed", 0, 0, 0, 1, 0.3,
                     error="timed out after 20s")])
    console = Console(width=80, record=True)
    console.print(summary_table(report, load_config(None)))
    lines = console.export_text().splitlines()
    header = next(line for line in lines if "source" in line)
    assert header.split() == ["source", "status", "new", "known", "failed", "requests", "time"]
    assert all(len(line) <= 80 for line in lines)
    text = " ".join(lines)
    assert "childrenfirst-news: 2 articles failed, 15 stored or known; last: HTTP 500" in text
    assert "ofsted-news-govuk-feed: timed out after 20s" in text


def test_config_check_refuses_a_database_whose_driver_is_not_installed(tmp_path):
    mine = tmp_path / "config.yaml"
    mine.write_text('database_url: "mysql+pymysql://reader@127.0.0.1/news"\nsources: []\n')
    result = sw("config", "check", cwd=tmp_path)
    assert result.returncode == 2 and "OK" not in result.stdout
    assert "database_url: the mysql+pymysql driver is not installed" in result.stderr
    mine.write_text('database_url: "postgres-ish://x"\nsources: []\n')
    assert sw("config", "check", cwd=tmp_path).returncode == 2


def test_config_check_warns_of_settings_left_on_the_example_domain(tmp_path):
    mine = tmp_path / "config.yaml"
    mine.write_text('digest:\n  from_address: "News <digest@news.council.gov.uk>"\n'
                    '  reply_to: "digest@news.council.gov.uk"\nsources: []\n')
    result = sw("config", "check", cwd=tmp_path)
    assert result.returncode == 0 and "OK" in result.stdout
    warned = [line.split()[1] for line in result.stderr.splitlines()
              if line.startswith("warning:")]
    assert warned == ["digest.list_id", "digest.base_url", "digest.unsubscribe_mailto",
                      "fetch.user_agent"]
    plain = tmp_path / "plain"
    plain.mkdir()
    assert sw("config", "check", cwd=plain).stderr == ""  # all on the example: no nagging


def test_config_check_says_how_the_topics_differ_from_the_shipped_list(tmp_path):
    (tmp_path / "config.yaml").write_text("""sources: []
topics:
  - {slug: kent-fostering, label: Kent fostering, phrases: {fostering allowance: 3}}
  - {slug: inspection, label: Inspections}
""")
    out = sw("config", "check", cwd=tmp_path).stdout
    shipped = len(load_config(None).topics)
    assert f"topics: {shipped + 1} (added kent-fostering; changed inspection)" in out


def test_a_command_says_when_it_creates_a_new_database(tmp_path):
    first = sw("articles", cwd=tmp_path)
    assert first.returncode == 0
    assert first.stderr.startswith(f"note: creating a new database data{os.sep}sectorwatch.db "
                                   "(config: the built-in config (no --config")
    assert sw("articles", cwd=tmp_path).stderr == ""  # the second time it exists


def test_a_hint_holding_a_command_is_never_wrapped(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECTORWATCH_SECRET", "SECTORWATCH_CONFIG")}
    result = subprocess.run([sys.executable, "-m", "sectorwatch.cli", "serve"], cwd=tmp_path,
                            env={**env, "COLUMNS": "80"}, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    [hint] = [line for line in result.stderr.splitlines() if "hint:" in line]
    assert hint.strip() == ("hint: make one with: export SECTORWATCH_SECRET=\"$(python3 -c "
                            "'import secrets; print(secrets.token_urlsafe(32))')\"")


def test_articles_show_one_article_with_its_evidence_and_raw_page(tmp_path, make_site):
    site = make_site()
    title = "Ofsted rates Worcestershire [bold]good[/bold]"  # markup in a title stays text
    site.route("/feed", rss(site.base, [("/news/w", title)]), "application/rss+xml")
    page = article_html(title, SEED_004.split("\n\n"))
    site.route("/news/w", page)
    (tmp_path / "config.yaml").write_text(
        f'database_url: "sqlite:///{tmp_path}/sw.db"\n{FAST_FETCH}\nsources:\n'
        f"  - {{id: s, type: feed, url: '{site.base}/feed'}}\n")
    assert sw("fetch", cwd=tmp_path).returncode == 0
    [listed] = json.loads(sw("articles", "--format", "json", cwd=tmp_path).stdout)
    ident = str(listed["id"])
    assert ident in sw("articles", cwd=tmp_path).stdout.split()  # the table shows ids

    shown = sw("articles", "show", ident, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert out.startswith(f"#{ident}  {title}\n") and f"{site.base}/news/w" in out
    assert "authority   E10000034  Worcestershire (primary" in out
    assert "topic       inspection" in out and listed["text"][:60] in out
    assert "evidence" not in out

    explained = sw("articles", "show", ident, "--explain", "--raw", "page.html", cwd=tmp_path)
    assert "evidence, tagging the stored text again by the current config:" in explained.stdout
    assert "differs" not in explained.stdout  # stored tags are what the config gives
    assert "[Worcestershire" in explained.stdout and "topic inspection (" in explained.stdout
    assert (tmp_path / "page.html").read_bytes() == page.encode()
    assert "sectorwatch extract page.html --url" in explained.stderr

    data = json.loads(sw("articles", "show", ident, "--explain", "--format", "json",
                         cwd=tmp_path).stdout)
    assert data["raw_page"]["bytes"] == len(page.encode()) and data["title"] == title
    assert data["explain"]["same_as_stored"] is True
    assert data["explain"]["topics"][0]["evidence"]

    missing = sw("articles", "show", "999", cwd=tmp_path)
    assert missing.returncode == 2 and "no article 999 is stored" in missing.stderr
    assert "sectorwatch articles" in missing.stderr


def test_the_demo_names_the_command_as_it_can_be_run_again(tmp_path, monkeypatch):
    from sectorwatch.cli.demo_run import command_name

    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "sectorwatch"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert command_name(str(script)) == "venv/bin/sectorwatch"  # not on PATH: its path
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert command_name(str(script)) == "sectorwatch"  # on PATH: the bare name
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert command_name(str(script)) == str(script)  # outside the folder: the whole path
    assert command_name("/usr/lib/python3/runpy.py") == "sectorwatch"  # python -m


def test_what_commands_write_into_a_checkout_is_git_ignored():
    import shutil

    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        import pytest

        pytest.skip("not a git checkout")
    paths = ["data/sectorwatch.db", "preview/digest-2026-W48.html", "outbox/x.eml",
             "demo/sectorwatch.db"]
    done = subprocess.run(["git", "check-ignore", *paths], cwd=root, capture_output=True,
                          text=True)
    assert done.stdout.split() == paths


def test_articles_search_ranks_with_snippets_and_refuses_bad_queries(tmp_path, make_site):
    site = make_site()
    site.route("/feed", rss(site.base, [("/news/k", "Kent foster carers"),
                                        ("/news/w", "[bold]Worcestershire[/bold] budget")]),
               "application/rss+xml")
    site.route("/news/k", article_html("Kent foster carers", [
        "Kent County Council is recruiting foster carers as fostering demand rises.",
        "Foster carers in Kent will receive higher fostering allowances, the council said.",
        LOREM[1]]))
    site.route("/news/w", article_html("[bold]Worcestershire[/bold] budget", [
        "Worcestershire County Council set its budget; fostering was mentioned once.",
        "[red]Not markup[/red] &lt;b&gt;nor HTML&lt;/b&gt;: the council's budget for the year.",
        LOREM[2]]))
    (tmp_path / "config.yaml").write_text(
        f'database_url: "sqlite:///{tmp_path}/sw.db"\n{FAST_FETCH}\nsources:\n'
        f"  - {{id: s, type: feed, url: '{site.base}/feed'}}\n")
    assert sw("fetch", cwd=tmp_path).returncode == 0

    def search(*args: str) -> list[dict]:
        out = sw("articles", "--format", "json", "--search", *args, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    [kent] = search("fostering allowances")
    assert kent["title"] == "Kent foster carers" and kent["rank"] > 0
    assert "<mark>fostering</mark> <mark>allowances</mark>" in kent["snippet_html"]
    assert "fostering allowances" in kent["snippet"]
    assert kent["authorities"] == [{"code": "E10000016", "name": "Kent"}]
    assert [h["title"] for h in search("fostering")] == [  # in a title above in a text
        "Kent foster carers", "[bold]Worcestershire[/bold] budget"]
    assert [h["title"] for h in search("fostering", "--authority", "Worcestershire")] == \
        ["[bold]Worcestershire[/bold] budget"]
    assert search("fostering", "--region", "North East") == []
    assert search("fostering", "--topic", "send") == []
    assert len(search("council", "--limit", "1")) == 1
    [w] = search("budget -kent")
    assert "&lt;b&gt;nor HTML&lt;/b&gt;" in w["snippet_html"]

    table = sw("articles", "--search", "budget", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "[bold]Worcestershire[/bold] budget" in table.stdout  # shown, not read as markup
    assert str(w["id"]) in table.stdout.split()  # the id `articles show` takes
    assert "[red]Not markup[/red]" in table.stdout
    assert "1–1 of 1 match" in table.stderr

    for query, message in [('"foster carers', "a quote is not closed"),
                           ("-kent", "not only words to leave out"),
                           ("", "nothing to search for"),
                           ("kent OR", "OR needs a word or phrase on each side")]:
        bad = sw("articles", "--search", query, cwd=tmp_path)
        assert bad.returncode == 2, query
        assert message in bad.stderr and "hint:" in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr and "sqlite" not in bad.stderr.lower()
