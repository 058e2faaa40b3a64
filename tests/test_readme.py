"""The README's shell examples run as written.

Every ```sh block from "Installing" on is run line by line, in README order, in a fresh
folder whose ./config.yaml points at the bundled sector sites served on 127.0.0.1 (and
an outbox, and a local maildir), with the files the text says a reader has (a saved
page, an article's text, a week of articles). One shell environment is carried from line
to line, as a reader's terminal would carry an `export`. The few lines that cannot run
here are listed below with the reason, and must still be in the README.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sectorwatch.cli.demo_run import local_config_text
from sectorwatch.demo.server import SITES_DIR, serve_sites

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CASES = ROOT / "tests" / "data" / "tagging"
VENV_BIN = Path(sys.executable).parent

NOT_RUN = {
    "make install": "its own test below installs into a temporary prefix",
    "sectorwatch extract https://www.example.org/news/some-article --format text":
        "reaches a site on the internet",
    "sectorwatch extract https://www.cypnow.co.uk/content/news/... --source cypnow-news "
    "--format text": "reaches a site on the internet ('...' stands for an address)",
    ".venv/bin/pip install -e '.[postgres]'": "installs from the package registry",
    "sudo -u postgres createuser sectorwatch && sudo -u postgres createdb -O sectorwatch "
    "sectorwatch": "needs root and a PostgreSQL server",
}
LONG_RUNNING = ("sectorwatch run", "sectorwatch serve")
"""Commands that run until stopped: each must still be running after a few seconds."""


def sh_lines(text: str) -> list[str]:
    """The command lines of the ```sh blocks from the "Installing" section on."""
    text = text[text.index("\n## Installing"):]
    lines: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        lines += [line for line in block.splitlines()
                  if line.strip() and not line.lstrip().startswith("#")]
    return lines


def command(line: str) -> str:
    """A line without its trailing comment."""
    return re.sub(r"\s{2,}#.*$", "", line).strip()


def test_every_line_left_out_is_still_in_the_readme():
    commands = {command(line) for line in sh_lines(README.read_text(encoding="utf-8"))}
    assert set(NOT_RUN) <= commands


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A reader's folder: ./config.yaml on the local sites, and the files the README
    assumes they have."""
    folder = tmp_path_factory.mktemp("reader")
    with serve_sites() as sites:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        text = local_config_text(sites, "sqlite:///data/sectorwatch.db",
                                 {"per_host_delay": "0.05s"})
        text = text.replace("  port: 8080", f"  port: {port}", 1)
        text = text.replace("    type: none ", "    type: maildir ", 1)
        text = text.replace("    maildir: null", f'    maildir: "{folder / "mail"}"', 1)
        (folder / "config.yaml").write_text(text, encoding="utf-8")
        for sub in ("cur", "new", "tmp"):
            (folder / "mail" / sub).mkdir(parents=True)
        page = next((SITES_DIR / "www.cypnow.co.uk" / "content" / "news").glob("*.html"))
        for name in ("saved.html", "saved-page.html"):
            shutil.copy(page, folder / name)
        cases = [yaml.safe_load(p.read_text(encoding="utf-8"))
                 for p in sorted(CASES.glob("*.yaml"))[:6]]
        for name in ("article.txt", "story.txt"):
            (folder / name).write_text(cases[0]["text"], encoding="utf-8")
        (folder / "week.jsonl").write_text("".join(
            json.dumps({"id": str(k), "title": c["title"], "text": c["text"],
                        "published": str(c.get("date") or "")}) + "\n"
            for k, c in enumerate(cases)), encoding="utf-8")
        (folder / "home").mkdir()
        yield folder


def test_every_sh_line_runs_as_written(work):
    env_file = work / "env.sh"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SECTORWATCH_")}  # a reader starts with none of ours
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env['PATH']}", HOME=str(work / "home"),
               COLUMNS="100")
    env_file.write_text("")
    ran = 0
    for line in sh_lines(README.read_text(encoding="utf-8")):
        if command(line) in NOT_RUN:
            continue
        long = command(line).startswith(LONG_RUNNING)
        run = f"timeout --signal=TERM 4 {line}" if long else line
        script = f". {env_file}\n{run}\nstatus=$?\nexport -p > {env_file}\nexit $status\n"
        done = subprocess.run(["bash", "-c", script], cwd=work, env=env,
                              capture_output=True, text=True, timeout=180)
        expected = 124 if long else 0  # 124: still running when timeout stopped it
        said = f"$ {line}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        assert done.returncode == expected, said
        assert "Traceback" not in done.stderr, said
        ran += 1
    assert ran >= 40


@pytest.mark.skipif(shutil.which("make") is None or not (ROOT / ".venv" / ".installed-stamp")
                    .exists(), reason="needs make, and the checkout's .venv made by it")
def test_make_install_puts_the_command_on_path(tmp_path):
    """The README's install step, into a temporary prefix: afterwards `sectorwatch` is a
    command on PATH, run from any folder."""
    prefix = tmp_path / "prefix"
    env = {**os.environ, "PATH": "/usr/local/bin:/usr/bin:/bin"}
    done = subprocess.run(["make", "install", f"PREFIX={prefix}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{prefix}/bin is not on your PATH" in done.stdout  # and it says how to add it
    env["PATH"] = f"{prefix / 'bin'}:{env['PATH']}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    version = subprocess.run(["sectorwatch", "--version"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "sectorwatch, version" in version.stdout
    check = subprocess.run(["sectorwatch", "config", "check"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "built-in config.yaml" in check.stdout
    subprocess.run(["make", "uninstall", f"PREFIX={prefix}"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    assert not (prefix / "bin" / "sectorwatch").exists()
