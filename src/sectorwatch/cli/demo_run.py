"""`sectorwatch demo`: the whole job on embedded defaults, offline. Serves copies of sector
sites on 127.0.0.1, fetches them into a fresh SQLite file, subscribes two demo readers and
writes the week's digest for each into an outbox folder."""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sectorwatch import gazetteer
from sectorwatch.cli.fetching import summary_table
from sectorwatch.cli.progress import RichProgress
from sectorwatch.cli.serve import server
from sectorwatch.config import Config, default_config_text, parse_config
from sectorwatch.demo.server import localise, serve_sites
from sectorwatch.digest import snapshot
from sectorwatch.digest.delivery import send_issue
from sectorwatch.digest.issue import IssueRenderer, issue_send_at
from sectorwatch.digest.subscribers import Filters, SubscriberSpec, resolve_filters
from sectorwatch.digest.transport import OutboxTransport
from sectorwatch.pipeline import run_all
from sectorwatch.store import Store
from sectorwatch.tokens import preview_signer
from sectorwatch.web import create_app
from sectorwatch.web.timeline import build_timeline

# The week of seeds 000 and 002 (13 and 16 November 2018): the issue of Monday 19 November.
DEMO_WEEK = "2018-W47"
WEB_PORT = 8080  # where `sectorwatch demo --serve` listens, and so the demo's links point
WATCHED = "E10000034"  # Worcestershire: the seeds' authority
EXAMPLES = ("worcestershire-cfosp",)  # shipped disabled (they need a council's own ids)


@dataclass(frozen=True)
class Reader:
    email: str
    name: str
    follows: str
    authorities: tuple[str, ...] = ()


READERS = (
    Reader("everything@example.org", "Alex", "everything"),
    Reader("worcestershire@example.org", "Sam", "Worcestershire only", ("Worcestershire",)),
)


def local_config_text(sites: dict, database_url: str, fetch: dict[str, str],
                      outbox: Path | None = None, base_url: str | None = None) -> str:
    """The shipped config pointed at the local sites, with another database and outbox, its
    example sources enabled and some ``fetch:`` settings replaced (comments and layout kept).
    """
    text = localise(default_config_text(), sites)
    text = text.replace('database_url: "sqlite:///data/sectorwatch.db"',
                        f'database_url: "{database_url}"')
    if outbox is not None:
        text = text.replace("  outbox_dir: outbox", f'  outbox_dir: "{outbox}"')
    if base_url is not None:
        text = text.replace('  base_url: "https://sectorwatch.example.org"',
                            f'  base_url: "{base_url}"')
    lines = text.splitlines()
    for key, value in fetch.items():
        lines = [f"  {key}: {value}" if line.startswith(f"  {key}:") else line for line in lines]
    current = None
    for i, line in enumerate(lines):
        if line.startswith("  - id: "):
            current = line.split(":", 1)[1].strip()
        elif current in EXAMPLES and line.strip().startswith("enabled: false"):
            lines[i] = line.replace("enabled: false", "enabled: true ", 1)
    return "\n".join(lines) + "\n"


def command_name(argv0: str | None = None) -> str:
    """How to run this command again as typed: `sectorwatch` when that name on PATH is
    this program, else the path it was run by (`.venv/bin/sectorwatch` after `make demo`)."""
    argv0 = argv0 or sys.argv[0]
    if Path(argv0).name != "sectorwatch":  # python -m sectorwatch.cli
        return "sectorwatch"
    found = shutil.which("sectorwatch")
    if found and Path(found).resolve() == Path(argv0).resolve():
        return "sectorwatch"
    try:
        return str(Path(argv0).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(Path(argv0).resolve())


def run_demo(workdir: Path, console: Console, week: str = DEMO_WEEK,
             serve_port: int | None = None) -> int:
    """The demo; with ``serve_port``, then the web pages on 127.0.0.1 until Ctrl-C."""
    send_at = issue_send_at(week)
    workdir.mkdir(parents=True, exist_ok=True)
    db_file = (workdir / "sectorwatch.db").resolve()
    outbox = (workdir / "outbox").resolve()
    # The sites get new ports every run, so an old demo database only holds stale URLs.
    for leftover in (db_file, db_file.with_name(db_file.name + "-wal"),
                     db_file.with_name(db_file.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(outbox, ignore_errors=True)
    with serve_sites() as sites:
        db_url = f"sqlite:///{db_file}"
        text = local_config_text(sites, db_url, {"per_host_delay": "0.2s"}, outbox,
                                 f"http://127.0.0.1:{serve_port or WEB_PORT}")
        (workdir / "config.yaml").write_text(text, encoding="utf-8")
        config = parse_config(text, str(workdir / "config.yaml"))
        signer = preview_signer(config.web.secret_env)  # the real secret if set, else one
        console.print(f"Serving {len(sites)} sector sites on 127.0.0.1; fresh database "
                      f"{escape(str(workdir / 'sectorwatch.db'))}")
        with Store.open(config.database_url) as store:
            with RichProgress(console) as progress:
                report = run_all(config, store, force=True, progress=progress)
            console.print(summary_table(report, config))
            console.print(f"{store.count_articles()} articles stored, each tagged by "
                          "authority, topic and Ofsted judgement.")
            subscribe_readers(config, store)
            result = send_issue(config, store, OutboxTransport(outbox), send_at, signer=signer)
            row = store.issue(result.issue)
            assert row is not None
            console.print(stories_table(snapshot.loads(row.stories), result.issue, send_at))
            renderer = IssueRenderer(config, snapshot.loads(row.stories), send_at, signer)
            table, digests = readers_table(store, renderer, result.issue, outbox)
            console.print(table)
            console.print(timeline_table(config, store, WATCHED))
    console.print("The HTML digests (the .eml beside each is the whole email):")
    for path in digests:
        console.print(f"  {escape(str(path))}", soft_wrap=True)
    cfg = escape(str(workdir / "config.yaml"))
    ok = report.ok and not (result.failed or result.deferred)
    if serve_port is not None:
        serve_demo(config, signer, serve_port, console)
        return 0 if ok else 1
    me = escape(command_name())
    console.print("Then try:", soft_wrap=True)
    for command in ("articles --authority Worcestershire",
                    f"digest preview --week {week} --subscriber worcestershire@example.org",
                    "sources"):
        console.print(f"  {me} --config {cfg} {command}", soft_wrap=True)
    console.print(f"  {me} demo --serve    (the same, then the web pages: subscribe, the "
                  "archive, each authority's page)", soft_wrap=True)
    return 0 if ok else 1


def timeline_table(config: Config, store: Store, code: str) -> Table:
    """An authority's Ofsted timeline as its web page shows it."""
    name = gazetteer.name(code)
    events = build_timeline(store.judgements(code),
                            {s.id: s.label for s in config.sources})
    table = Table(title=f"{name}'s Ofsted timeline, read from the stored articles "
                  "(its page: /authorities/" + name.lower() + ")", title_justify="left",
                  expand=True)
    table.add_column("when", width=16)
    table.add_column("event", ratio=2)
    table.add_column("reported by", ratio=3)
    for e in events:
        grades = "; ".join(f"{scope}: {grade}" for scope, grade in e.grades.items())
        table.add_row(e.label + ("" if e.dated else " (reported)"),
                      escape(e.kind + (f" — {grades}" if grades else "")),
                      escape(", ".join(_outlet(r.source) for r in e.reports)))
    return table


def serve_demo(config: Config, signer, port: int, console: Console) -> None:
    """The web pages over the demo's store, on 127.0.0.1, until Ctrl-C or SIGTERM."""
    with Store.open(config.database_url) as store:
        app = create_app(config, store, signer)
        base = f"http://127.0.0.1:{port}"
        console.print(f"Serving the web pages on {base} (Ctrl-C stops):", soft_wrap=True)
        for path in ("/", "/authorities/worcestershire", f"/archive/{DEMO_WEEK}"):
            console.print(f"  {base}{path}", soft_wrap=True)
        console.print("Subscription emails go to the outbox folder.", soft_wrap=True)
        server(app, "127.0.0.1", port, ()).run()


def subscribe_readers(config: Config, store: Store) -> None:
    topics = [t.slug for t in config.topics]
    for reader in READERS:
        filters = (resolve_filters(reader.authorities, (), (), topics) if reader.authorities
                   else Filters())
        store.save_subscriber(SubscriberSpec(reader.email, reader.name, filters=filters),
                              via="demo")


def stories_table(entries: list, issue: str, send_at: datetime) -> Table:
    names = {code: a.name for code, a in gazetteer.authorities().items()}
    n = len(entries)
    table = Table(title=f"Issue {issue} (sent {send_at:%A %-d %B %Y}): {n} "
                  f"stor{'y' if n == 1 else 'ies'} from the week before", title_justify="left",
                  expand=True)
    table.add_column("story", ratio=3)
    table.add_column("told by", ratio=2)
    table.add_column("about", width=14)  # Worcestershire
    table.add_column("topics", width=17)  # children-in-care,
    for entry in entries:
        story = entry.story
        table.add_row(escape(story.lead.title),
                      escape(", ".join(_outlet(i.source_name) for i in story.items)),
                      escape(", ".join(sorted(names.get(c, c) for c in entry.primary)) or
                             "national"),
                      escape(", ".join(entry.topics[:3])))
    return table


def readers_table(store: Store, renderer: IssueRenderer, issue: str, outbox: Path
                  ) -> tuple[Table, list[Path]]:
    """Each demo reader's delivery, and the HTML files written."""
    table = Table(title=f"Digests written to {escape(str(outbox))}", title_justify="left")
    for name in ("reader", "follows", "stories", "delivery"):
        table.add_column(name, overflow="fold")
    subscribers = {spec.email: (sid, spec) for sid, spec, _ in store.subscriber_rows("active")}
    status = store.delivery_statuses(issue)
    written = []
    for reader in READERS:
        sid, spec = subscribers[reader.email]
        html = outbox / f"{issue}-{sid}.html"
        if html.exists():
            written.append(html)
        table.add_row(reader.email, reader.follows,
                      str(renderer.selection(spec.filters).count), status.get(sid, "?"))
    return table, written


def _outlet(source_name: str) -> str:
    """'Community Care (children)' → 'Community Care': the table is narrow."""
    return re.sub(r"\s*\([^()]*\)$", "", source_name) or source_name
