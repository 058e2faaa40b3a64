"""The cases the tagging issue names, run on their dev-set texts (figures for the whole
set live in benchmarks/tagging.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sectorwatch.config import load_config
from sectorwatch.tag import Tagger

CASES = Path(__file__).resolve().parents[1] / "data" / "tagging"
TAGGER = Tagger.from_config(load_config(None))


def tags(prefix: str):
    [path] = CASES.glob(f"{prefix}-*.yaml")
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    return case, TAGGER.tag(case["title"], case["text"], str(case["date"]))


def test_every_dev_case_is_well_formed():
    files = sorted(CASES.glob("*.yaml"))
    assert len(files) >= 40
    slugs = {t.slug for t in load_config(None).topics}
    for path in files:
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert {"title", "date", "text", "expect"} <= set(case), path.name
        assert set(case["expect"].get("topics") or []) <= slugs, path.name


@pytest.mark.parametrize(("prefix", "codes"), [
    ("001", {"E10000034"}),  # seed 000: its teasers are not the article
    ("030", {"E08000035"}),  # Leeds; New York does not tag York
    ("003", {"E10000034"}),  # a Worcester News piece about the county council
    ("031", {"E10000028", "E10000006", "E10000016"}),  # Newcastle-under-Lyme → Staffordshire
    ("033", {"E08000025"}),  # Sutton Coldfield is Birmingham, not Sutton
])
def test_named_cases(prefix, codes):
    case, result = tags(prefix)
    assert {a.code for a in result.authorities} == codes
    assert codes == {a["code"] for a in case["expect"]["authorities"]}


def test_seed_judgements():
    _, seed_004 = tags("005")
    got = {(j.grade, j.scope) for j in seed_004.judgements}
    assert {("inadequate", "overall"), ("requires improvement", "adoption")} <= got
    _, seed_000 = tags("001")
    news = [(j.grade, j.kind) for j in seed_000.judgements if not j.past]
    assert news == [(None, "monitoring visit")]  # the earlier grade is known, but not news
    assert [j.grade for j in seed_000.judgements if j.past] == ["inadequate"]
