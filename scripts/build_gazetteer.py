"""Build sectorwatch's packaged gazetteer from the shared facts.

    python scripts/build_gazetteer.py [--data DIR] [--out FILE]

DIR defaults to ../shared/data, FILE to src/sectorwatch/data/gazetteer.json.

Reads authorities.csv and alias_index.csv (which already folds in districts, trusts, NI
councils, groupings and the curated negatives), adds the towns of scripts/towns.csv (this
project's own list of principal towns and the authority serving each), and writes one
compact JSON file that sectorwatch.tag loads. Re-run it when the facts are rebuilt
(e.g. after a local government reorganisation) or the towns change;
tests/tag/test_authorities.py checks the packaged file matches a fresh build whenever the
facts are beside the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "src" / "sectorwatch" / "data" / "gazetteer.json"
TOWNS = Path(__file__).with_name("towns.csv")
NOT_PLACES = frozenset({  # town names that are far more often a month or a day
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday"})
CREDITS = (
    "Contains data from mySociety's uk_local_authority_names_and_codes (CC BY 4.0) and the "
    "ONS Local Authority District to County lookup (Open Government Licence v3.0)."
)


def towns(path: Path, authorities: dict, known: set[str]) -> list[list]:
    """Aliases for the towns in ``path`` (this project's own list: town, the current
    authority serving it, whether the name has other common meanings). A town in a county
    is tagged as a district is (to the county); a name the facts already know is skipped.
    Ambiguous names match only capitalised and need a sector cue in their paragraph."""
    out = []
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code, name = row["gss_code"], row["town"].strip()
            if code not in authorities or authorities[code]["end"]:
                raise SystemExit(f"{path.name}: town {name!r} maps to {code!r}, which is not "
                                 "a current authority")
            if name.casefold() in known or name.casefold() in NOT_PLACES:
                continue
            ambiguous = row["ambiguous"].strip() == "yes"
            county = authorities[code]["type"] == "county"
            out.append([name, [code], None, None, ambiguous, ambiguous,
                        "tag_upper_tier" if county else "tag",
                        "ambiguous town" if ambiguous else "town"])
    return out


def build(data: Path) -> dict:
    authorities = {}
    with (data / "authorities.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            authorities[row["gss_code"]] = {
                "name": row["name"], "official_name": row["official_name"],
                "nation": row["nation"], "region": row["region"] or row["nation"],
                "type": row["la_type"], "start": row["start_date"] or None,
                "end": row["end_date"] or None,
                "replaced_by": [c for c in row["replaced_by"].split("|") if c],
            }
    aliases = []
    with (data / "alias_index.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            targets = [c for c in row["target_gss_codes"].split("|") if c]
            unknown = [c for c in targets if c not in authorities]
            if unknown and row["action"] in ("tag", "tag_upper_tier"):
                raise SystemExit(f"alias {row['alias']!r} targets unknown codes {unknown}")
            aliases.append([
                row["alias"], targets, row["valid_from"] or None, row["valid_to"] or None,
                row["match"] == "case_sensitive_token", row["needs_context"] == "yes",
                row["action"], row["kind"],
            ])
    aliases += towns(TOWNS, authorities, {a[0].casefold() for a in aliases})
    aliases.sort(key=lambda a: (a[0].casefold(), a[2] or ""))
    return {"credits": CREDITS,
            "alias_fields": ["alias", "targets", "valid_from", "valid_to", "case_sensitive",
                             "needs_context", "action", "kind"],
            "authorities": dict(sorted(authorities.items())), "aliases": aliases}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    if not (args.data / "alias_index.csv").is_file():
        print(f"no gazetteer facts at {args.data}", file=sys.stderr)
        return 2
    gazetteer = build(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(gazetteer, ensure_ascii=False, separators=(",", ":"))
                        + "\n", encoding="utf-8")
    print(f"{len(gazetteer['authorities'])} authorities, {len(gazetteer['aliases'])} aliases "
          f"→ {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
