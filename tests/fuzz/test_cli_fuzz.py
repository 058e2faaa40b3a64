"""Command-line arguments and input files of any shape: an answer or a usage message, the
kinds of error `sectorwatch` turns into a message and an exit code, never a traceback."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from sectorwatch.cli import cli
from sectorwatch.config import ConfigError
from sectorwatch.errors import SectorwatchError

ODD = st.text(max_size=30) | st.sampled_from(
    ["99999999999d", "-1d", "2026-13-45", "2026-W99", "1e400", "\x00", "../../etc/passwd",
     "jo@exämple.de", "jo@@x", "ö@example.org", "--help", "-"])


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "config.yaml"
    path.write_text(f"database_url: 'sqlite:///{folder / 'sw.db'}'\nsources: []\n",
                    encoding="utf-8")
    return str(path)


def run(config: str, *args: str, stdin: bytes = b"") -> None:
    result = CliRunner().invoke(cli, ["--config", config, *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert isinstance(result.exception, (click.ClickException, ConfigError,
                                             SectorwatchError)), repr(result.exception)
    assert result.exit_code in (0, 1, 2), result.output


@given(ODD)
def test_dates_and_ages(config, value):
    run(config, "articles", "--since", value)
    run(config, "tag", "-", "--date", value, stdin=b"Ofsted rated Kent council good.")
    run(config, "digest", "preview", "--week", value, "--out", "/dev/null")


@given(ODD)
def test_addresses(config, address):
    run(config, "subscribe", address, "--authority", "Worcestershire")
    run(config, "unsubscribe", address)


@given(st.binary(max_size=600))
def test_input_files(config, tmp_path_factory, data):
    run(config, "tag", "-", stdin=data)
    run(config, "group", "-", stdin=data)
    csv = tmp_path_factory.mktemp("csv") / "subs.csv"
    csv.write_bytes(data)
    run(config, "subscribers", "import", str(csv))
