"""`sectorwatch demo`: the main job on embedded defaults, against sites served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from sectorwatch.config import default_config_text, parse_config
from sectorwatch.demo.server import localise, serve_sites
from sectorwatch.pipeline import run_all
from sectorwatch.progress import RichProgress
from sectorwatch.store import Store


def local_config_text(sites: dict, database_url: str, fetch: dict[str, str]) -> str:
    """The shipped config pointed at the local sites, with another database and some
    ``fetch:`` settings replaced (its comments and layout kept)."""
    text = localise(default_config_text(), sites)
    text = text.replace('database_url: "sqlite:///data/sectorwatch.db"',
                        f'database_url: "{database_url}"')
    lines = text.splitlines()
    for key, value in fetch.items():
        lines = [f"  {key}: {value}" if line.startswith(f"  {key}:") else line for line in lines]
    return "\n".join(lines) + "\n"


def run_demo(workdir: Path, console: Console) -> int:
    from sectorwatch.cli.fetching import summary_table  # the CLI owns presentation

    workdir.mkdir(parents=True, exist_ok=True)
    db_file = (workdir / "sectorwatch.db").resolve()
    # The sites get new ports every run, so an old demo database only holds stale URLs.
    for leftover in (db_file, db_file.with_name(db_file.name + "-wal"),
                     db_file.with_name(db_file.name + "-shm")):
        leftover.unlink(missing_ok=True)
    with serve_sites() as sites:
        db_url = f"sqlite:///{db_file}"
        text = local_config_text(sites, db_url, {"per_host_delay": "0.2s"})
        (workdir / "config.yaml").write_text(text, encoding="utf-8")
        config = parse_config(text, str(workdir / "config.yaml"))
        console.print(f"Serving {len(sites)} sector sites on 127.0.0.1; fresh database "
                      f"{workdir / 'sectorwatch.db'}")
        with Store.open(config.database_url) as store:
            with RichProgress(console) as progress:
                report = run_all(config, store, force=True, progress=progress)
            console.print(summary_table(report, config))
            console.print(f"{store.count_articles()} articles stored, tagged by authority, "
                          "topic and Ofsted judgement. The newest about an authority:")
            for row in store.articles(limit=None):
                tags = store.tags(row.id)
                about = [a["name"] for a in tags["authority"] if a["role"] == "primary"]
                if about:
                    topics = ", ".join(t["slug"] for t in tags["topic"]) or "-"
                    console.print(f"  {row.published_at:%Y-%m-%d}  {', '.join(about)}: "
                                  f"{escape(row.title)} [dim]({topics})[/]")
            console.print(f"Try: sectorwatch --config {workdir / 'config.yaml'} articles "
                          "--region 'West Midlands'")
    console.print("[dim]The weekly digest comes in a later issue.[/]")
    return 0 if report.ok else 1
