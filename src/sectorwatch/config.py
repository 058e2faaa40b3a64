"""Load and validate config.yaml once into a frozen Config, reporting every problem together."""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from sectorwatch import __version__, gazetteer
from sectorwatch.sources import REGISTRY
from sectorwatch.sources.base import Duration, HttpUrl, Settings, Size, SourceBase, SourceId

ENV_VAR = "SECTORWATCH_CONFIG"
DEFAULT_UA = (
    f"sectorwatch/{__version__} (+https://sectorwatch.example.org/about; "
    "mailto:ops@sectorwatch.example.org)"
)


class FetchSettings(Settings):
    """How sectorwatch talks to other people's servers."""

    user_agent: str = Field(DEFAULT_UA, description="Identifies the crawler, with a contact.")
    connect_timeout: Duration = Field(10.0, gt=0, description="Seconds to open a connection.")
    read_timeout: Duration = Field(30.0, gt=0, description="Seconds to wait between bytes.")
    total_timeout: Duration = Field(60.0, gt=0, description="Seconds for a whole response.")
    max_bytes: Size = Field(5_000_000, description="A larger body is abandoned as an error.")
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per request.")
    max_attempts: int = Field(3, ge=1, le=10, description="Tries for a transient failure.")
    backoff: Duration = Field(2.0, ge=0, description="First retry delay; doubles per try.")
    retry_after_max_wait: Duration = Field(
        30.0, ge=0, description="Longest Retry-After waited for within a run."
    )
    per_host_delay: Duration = Field(5.0, ge=0, description="Pause between requests to a host.")
    concurrency: int = Field(4, ge=1, le=32, description="Hosts fetched at the same time.")
    respect_robots: bool = Field(True, description="Obey robots.txt (RFC 9309).")
    robots_cache: Duration = Field(
        86_400.0, gt=0, le=86_400, description="How long a robots.txt is trusted (≤ 24 h)."
    )
    default_interval: Duration = Field(21_600.0, ge=0, description="Default poll interval.")
    max_article_failures: int = Field(
        3, ge=1, description="An article URL that failed this often is not tried again."
    )

    @field_validator("user_agent")
    @classmethod
    def _ua_has_contact(cls, value: str) -> str:
        if "http" not in value and "mailto:" not in value and "@" not in value:
            raise ValueError("the user agent must carry a contact URL or mailto: address")
        return value


class TopicSettings(Settings):
    """One topic of the taxonomy."""

    slug: SourceId = Field(description="Stable identifier used in filters and storage.")
    label: str = Field(description="What readers see.")
    phrases: dict[str, float] = Field(description="Phrase → weight (3 defines the topic).")
    exclude: tuple[str, ...] = Field((), description="Phrases that score nothing here.")


class TopicChange(Settings):
    """One entry of a config's ``topics:``: a topic added to the shipped list, or a change
    to a shipped one (the settings given replace the shipped ones), or its removal."""

    slug: SourceId = Field(description="A shipped topic's slug to change, or a new one.")
    label: str | None = Field(None, description="What readers see.")
    phrases: dict[str, float] | None = Field(
        None, description="Phrase → weight; replaces the shipped topic's phrases.")
    exclude: tuple[str, ...] | None = Field(None, description="Phrases that score nothing.")
    remove: bool = Field(False, description="Drop this shipped topic.")


class TaggingSettings(Settings):
    """How articles are tagged."""

    topic_threshold: float = Field(7.0, gt=0, description="Score a topic needs to apply.")
    topic_min_share: float = Field(
        0.2, ge=0, le=1, description="…and this share of the article's strongest topic.")
    topic_model: bool = Field(
        True, description="Decide the default topics with the packaged model trained on "
                          "real articles (false: threshold and share decide every topic).")


LOOPBACK = ("127.0.0.1", "localhost", "::1")  # where plain SMTP or IMAP may go
_MAILBOX_NEEDS = {"maildir": ("maildir", "the folder holding cur/ and new/"),
                  "host": ("imap", "the IMAP server"),
                  "username": ("imap", "the mailbox's login name")}


class SmtpSettings(Settings):
    """Where the smtp transport delivers."""

    host: str = Field("localhost", description="SMTP server.")
    port: int = Field(587, ge=1, le=65535, description="587 for STARTTLS, 465 for TLS.")
    security: typing.Literal["starttls", "tls", "none"] = Field(
        "starttls", description="Certificates are always verified; none only for 127.0.0.1.")
    username: str | None = Field(None, description="Login name, if the server wants one.")
    password_env: str = Field("SECTORWATCH_SMTP_PASSWORD",
                              description="Environment variable holding the password.")
    timeout: Duration = Field(30.0, gt=0, description="Seconds for each SMTP exchange.")
    ca_file: str | None = Field(
        None, description="PEM file of a private CA to trust as well (verification stays on).")
    rate: float = Field(10.0, gt=0, description="Messages per second, at most.")
    messages_per_connection: int = Field(
        100, ge=1, description="Reconnect after this many messages (some relays cap it).")

    @field_validator("security")
    @classmethod
    def _no_plaintext_off_loopback(cls, value: str, info) -> str:
        host = (info.data or {}).get("host", "")
        if value == "none" and host not in LOOPBACK:
            raise ValueError("plain SMTP is only allowed to this machine (127.0.0.1)")
        return value


class UnsubscribeMailboxSettings(Settings):
    """The mailbox that receives unsubscribe requests sent to digest.unsubscribe_mailto.
    Off by default, and then digests offer no mailto: a request nobody reads would leave
    the reader subscribed."""

    type: typing.Literal["none", "imap", "maildir"] = Field(
        "none", description="none: digests offer the https link only; imap or maildir: "
                            "the mailto too, read from here.")
    maildir: str | None = Field(
        None, validate_default=True, description="A local maildir's folder (type: maildir).")
    host: str | None = Field(None, validate_default=True, description="IMAP server.")
    port: int | None = Field(
        None, ge=1, le=65535, description="IMAP port; default 993 for tls, else 143.")
    security: typing.Literal["tls", "starttls", "none"] = Field(
        "tls", description="Certificates are always verified; none only for 127.0.0.1.")
    ca_file: str | None = Field(
        None, description="PEM file of a private CA to trust as well (verification stays on).")
    username: str | None = Field(None, validate_default=True, description="IMAP login name.")
    password_env: str = Field("SECTORWATCH_IMAP_PASSWORD",
                              description="Environment variable holding the IMAP password.")
    folder: str = Field("INBOX", min_length=1, description="IMAP folder that is read.")
    poll_every: Duration = Field(300.0, ge=10, description="How often `sectorwatch run` reads it.")
    max_messages: int = Field(100, ge=1, le=10_000,
                              description="Messages read per poll; the rest wait for the next.")
    max_bytes: Size = Field(64_000, le=10_000_000,
                            description="Bytes read of each message (its start), at most.")
    timeout: Duration = Field(30.0, gt=0, description="Seconds for each IMAP exchange.")

    @field_validator("maildir", "host", "username")
    @classmethod
    def _given_for_type(cls, value: str | None, info) -> str | None:
        kind, what = _MAILBOX_NEEDS[info.field_name]
        if (info.data or {}).get("type") == kind and not value:
            raise ValueError(f"type: {kind} needs {info.field_name}, {what}")
        return value

    @field_validator("security")
    @classmethod
    def _no_plaintext_off_loopback(cls, value: str, info) -> str:
        data = info.data or {}
        if data.get("type") == "imap" and value == "none" and data.get("host") not in LOOPBACK:
            raise ValueError("plain IMAP is only allowed to this machine (127.0.0.1)")
        return value

    @field_validator("folder")
    @classmethod
    def _ascii_folder(cls, value: str) -> str:
        if not value.isascii() or not value.isprintable():
            raise ValueError("an IMAP folder name in plain ASCII (e.g. INBOX)")
        return value

    @property
    def imap_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    def describe(self) -> str:
        """Where requests are read from, for people: imaps://host:993/INBOX, maildir /x."""
        if self.type == "imap":
            scheme = "imaps" if self.security == "tls" else "imap"
            return f"{scheme}://{self.host}:{self.imap_port}/{self.folder}"
        return f"maildir {self.maildir}" if self.type == "maildir" else "nowhere"


class DigestSettings(Settings):
    """The weekly digest email."""

    from_address: str = Field("Sectorwatch <digest@sectorwatch.example.org>",
                              description="From: header (its domain must be yours).")
    reply_to: str = Field("digest@sectorwatch.example.org", description="A mailbox you read.")
    list_id: str = Field("Sectorwatch weekly <weekly.sectorwatch.example.org>",
                         description="List-Id: header.")
    base_url: HttpUrl = Field("https://sectorwatch.example.org",
                              description="Where /u/TOKEN (unsubscribe) and /m/TOKEN live.")
    unsubscribe_mailto: str = Field(
        "unsubscribe@sectorwatch.example.org",
        description="mailto: offered beside the unsubscribe URL, only with unsubscribe_mailbox.")
    transport: typing.Literal["outbox", "smtp"] = Field(
        "outbox", description="outbox writes .eml files; smtp sends.")
    outbox_dir: str = Field("outbox", description="Folder the outbox transport writes to.")
    send_empty: bool = Field(False, description="Send a 'nothing this week' email.")
    section_cap: int = Field(8, ge=1, le=50, description="Stories per section, at most.")
    sections: typing.Literal["topic", "region"] = Field(
        "topic", description="Group stories into sections by topic or by region.")
    section_order: tuple[str, ...] = Field(
        (), description="Sections shown first, in this order (topic slugs or region names).")
    retry_delays: tuple[Duration, ...] = Field(
        (300.0, 900.0, 3600.0, 10_800.0, 21_600.0),
        description="Waits before retrying a deferred (4xx) message; then it fails.")
    bounce_limit: int = Field(
        2, ge=1, le=100,
        description="Hard (5xx) refusals in a row after which an address is marked bounced.")
    templates_dir: str | None = Field(None, description="Folder of templates overriding ours.")
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="SMTP transport.")
    unsubscribe_mailbox: UnsubscribeMailboxSettings = Field(
        default_factory=UnsubscribeMailboxSettings,
        description="Where unsubscribe_mailto's mail is read (off: no mailto is offered).")


CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")


class ScheduleSettings(Settings):
    """When `sectorwatch run` fetches and sends."""

    timezone: str = Field("Europe/London", description="Zone the digest's time is read in.")
    digest: dict[str, str | int] = Field(
        {"day_of_week": "mon", "hour": 8, "minute": 0},
        description="When the digest goes out: cron fields, day names only.")
    fetch_every: Duration = Field(
        3600.0, ge=60, description="How often due sources are polled (each keeps its interval).")
    misfire_grace: Duration = Field(
        21_600.0, gt=0, description="A digest slot this late still runs (process busy or asleep).")
    catch_up: Duration = Field(
        172_800.0, ge=0, description="On start, a missed digest slot this recent is sent.")
    heartbeat: Duration = Field(300.0, ge=10, description="Heartbeat and catch-up check.")
    heartbeat_file: str | None = Field(None, description="Touched at every heartbeat.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/London)") from None
        return value

    @field_validator("digest")
    @classmethod
    def _cron_fields(cls, value: dict, info) -> dict:
        from apscheduler.triggers.cron import CronTrigger

        unknown = sorted(set(value) - set(CRON_FIELDS))
        if unknown:
            raise ValueError(f"unknown cron field {unknown[0]!r}; known: {', '.join(CRON_FIELDS)}")
        if any(ch.isdigit() for ch in str(value.get("day_of_week", ""))):
            raise ValueError("use day names for day_of_week (mon, tue, … or mon-fri): numbers "
                             "are ambiguous (APScheduler counts 0 as Monday, cron as Sunday)")
        try:
            CronTrigger(**value, timezone="UTC")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a valid schedule: {exc}") from None
        return value


class WebSettings(Settings):
    """`sectorwatch serve`: subscribe, manage, unsubscribe, the archive and authority pages."""

    host: str = Field("127.0.0.1", description="Address to listen on (behind a proxy: keep it).")
    port: int = Field(8080, ge=1, le=65535, description="Port to listen on.")
    secret_env: str = Field("SECTORWATCH_SECRET",
                            description="Environment variable holding the link-signing secret.")
    previous_secret_env: str = Field(
        "SECTORWATCH_SECRET_PREVIOUS",
        description="Environment variable with the secret before a rotation (checks only).")
    confirm_within: Duration = Field(
        604_800.0, ge=600, description="How long a confirmation link works.")
    subscribe_rate: int = Field(
        10, ge=1, description="Subscribe requests per client address per hour.")
    mails_per_address: int = Field(
        3, ge=1, description="Confirmation emails per address per day.")
    trusted_proxies: tuple[str, ...] = Field(
        (), description="Proxy addresses whose X-Forwarded-For/-Proto are believed.")
    recent_stories: int = Field(
        30, ge=1, le=500, description="Stories on an authority page and in its feed.")


if typing.TYPE_CHECKING:
    SourceConfig = SourceBase  # every source type's settings extend it
else:  # one of the registered source types, chosen by its `type:`
    SourceConfig = Annotated[
        typing.Union[tuple(t.settings for t in REGISTRY.values())],  # noqa: UP007
        Field(discriminator="type"),
    ]


class Config(Settings):
    """The whole configuration."""

    database_url: str = Field(
        "sqlite:///data/sectorwatch.db", description="SQLAlchemy URL of the store."
    )
    fetch: FetchSettings = Field(default_factory=FetchSettings, description="HTTP behaviour.")
    sources: tuple[SourceConfig, ...] = Field((), description="What to poll.")
    tagging: TaggingSettings = Field(default_factory=TaggingSettings, description="Tagging.")
    digest: DigestSettings = Field(default_factory=DigestSettings, description="The digest.")
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings,
                                       description="What `sectorwatch run` does when.")
    web: WebSettings = Field(default_factory=WebSettings, description="`sectorwatch serve`.")
    topics: tuple[TopicSettings, ...] = Field((), description="The topic taxonomy.")
    replace_topics: bool = Field(
        False, description="Use exactly the topics listed, not the shipped list with them "
                           "added or changed.")

    def source(self, source_id: str) -> SourceBase:
        for src in self.sources:
            if src.id == source_id:
                return src
        raise KeyError(source_id)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file."""

    file: str
    path: str
    message: str
    line: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path or '(top level)'}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConfigError(Exception):
    """The config could not be used; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


BUILT_IN = "config.yaml (built-in)"


def default_topics() -> list:
    """The shipped taxonomy, as plain data."""
    return yaml.safe_load(default_config_text()).get("topics") or []


def default_config_text() -> str:
    """The shipped, commented config.yaml."""
    return resources.files("sectorwatch").joinpath("config.yaml").read_text(encoding="utf-8")


def resolve_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """--config wins, then $SECTORWATCH_CONFIG, then ./config.yaml; None means the shipped one."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get(ENV_VAR):
        return Path(env)
    local = Path("config.yaml")
    return local if local.is_file() else None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read a config file (or the shipped default) and validate it completely."""
    if path is None:
        return parse_config(default_config_text(), BUILT_IN)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(file), "", f"cannot read: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([Problem(str(file), "", "not UTF-8 text")]) from None
    return parse_config(text, str(file))


def parse_config(text: str, filename: str) -> Config:
    """Validate YAML text; raise ConfigError listing every problem with its YAML path and line."""
    deep = _too_deep(text)
    if deep is not None:
        raise ConfigError([Problem(filename, "", f"nested too deep (more than {MAX_DEPTH} "
                                   "levels)", deep)])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        msg = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(filename, "", f"not valid YAML: {msg}", line)]) from None
    except RecursionError:
        raise ConfigError([Problem(filename, "", "nested too deep")]) from None
    problems: list[Problem] = []
    lines: dict[tuple[Any, ...], int] = {}
    data = _to_python(node, (), lines, problems, filename, [0]) if node is not None else {}
    if not isinstance(data, dict):
        raise ConfigError([Problem(filename, "", "the file must be a mapping of settings", 1)])
    problems.extend(_duplicate_ids(data, lines, filename))
    if filename != BUILT_IN:
        problems.extend(_merge_topics(data, lines, filename))
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problem(err, data, lines, filename) for err in exc.errors())
        config = None
    if config is not None:
        problems.extend(_cross_checks(config, lines, filename))
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.path))
        raise ConfigError(problems)
    assert config is not None
    return config


# an address that goes into a mailto: URL as it is (RFC 6068 escapes nothing here)
_MAILTO = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _cross_checks(config: Config, lines: dict, file: str) -> Iterator[Problem]:
    """Settings that name other settings or packaged data must name real ones."""
    digest = config.digest
    if digest.unsubscribe_mailbox.type != "none" and not _MAILTO.fullmatch(
            digest.unsubscribe_mailto):
        yield Problem(file, "digest.unsubscribe_mailto",
                      f"{digest.unsubscribe_mailto!r} cannot be offered as a mailto: link",
                      lines.get(("digest", "unsubscribe_mailto")) or lines.get(("digest",)),
                      "use a plain address such as unsubscribe@news.example.org")
    if digest.sections == "region":
        known = sorted({*gazetteer.region_names(), "national"})
    else:
        known = [t.slug for t in config.topics] + ["other"]
    for i, key in enumerate(digest.section_order):
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            yield Problem(file, f"digest.section_order[{i}]",
                          f"no {digest.sections} section {key!r}",
                          lines.get(("digest", "section_order", i)),
                          f"did you mean {close[0]!r}?" if close else
                          f"known: {', '.join(known)}")


MAX_DEPTH = 64
"""Levels of nesting a config may have (it needs five)."""
MAX_VALUES = 100_000
"""Values a config may expand to: aliases of aliases (a 'billion laughs') stop here."""


def _too_deep(text: str) -> int | None:
    """The line where brackets nest deeper than MAX_DEPTH, if they do (YAML's parser
    recurses once a level, so a deep enough file would exhaust the stack)."""
    depth, line, quote = 0, 1, ""
    for char in text:
        if char == "\n":
            line += 1
            quote = ""
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#":
            quote = "\n"  # a comment runs to the end of the line
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif char in "]}":
            depth = max(0, depth - 1)
    return None


def _to_python(node: yaml.Node, path: tuple[Any, ...], lines: dict, problems: list, file: str,
               count: list[int]):
    """Build plain data from YAML nodes, remembering the line of every path; ``count``
    holds the values built so far (an alias is built again wherever it is used)."""
    count[0] += 1
    if count[0] > MAX_VALUES or len(path) > MAX_DEPTH:
        raise ConfigError([Problem(file, _fmt(path), "the file expands to more than "
                                   f"{MAX_VALUES:,} values or {MAX_DEPTH} levels (aliases "
                                   "inside aliases?)", node.start_mark.line + 1)])
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError([Problem(file, _fmt(path), "a key must be a plain word, not "
                                           "a list or a mapping", key_node.start_mark.line + 1)])
            key = _scalar(key_node, path, file)
            if key in out:
                problems.append(
                    Problem(file, _fmt((*path, key)), "key given twice",
                            key_node.start_mark.line + 1, "remove one of them")
                )
            out[key] = _to_python(value_node, (*path, key), lines, problems, file, count)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(n, (*path, i), lines, problems, file, count)
                for i, n in enumerate(node.value)]
    return _scalar(node, path, file)


def _scalar(node: yaml.Node, path: tuple[Any, ...], file: str) -> Any:
    """A YAML scalar as Python; an unknown tag ("!foo") or an impossible value
    ("!!timestamp 2020-99-99") is a ConfigError with its line, not a traceback."""
    try:
        return yaml.SafeLoader(" ").construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(file, _fmt(path), f"not a value: {reason}",
                                   node.start_mark.line + 1)]) from None


def _merge_topics(data: dict, lines: dict, file: str) -> Iterator[Problem]:
    """A config's ``topics:`` applied to the shipped list (in ``data``, in place): a new
    slug is added at the end, a shipped one changed by the settings given, ``remove: true``
    drops one. With ``replace_topics: true`` the list is taken as it is; with no
    ``topics:`` the shipped list stands."""
    changes = data.get("topics")
    if data.get("replace_topics") is True and changes is not None:
        return
    shipped = {t["slug"]: dict(t) for t in default_topics()}
    data["topics"] = list(shipped.values())
    if changes is None:
        return
    if not isinstance(changes, list):
        yield Problem(file, "topics", "use a YAML list of topics", lines.get(("topics",)),
                      "each entry: slug, and label, phrases, exclude or remove: true")
        return
    merged = dict(shipped)
    seen: set[str] = set()
    for i, entry in enumerate(changes):
        try:
            change = TopicChange.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors():
                err["loc"] = ("topics", i, *err["loc"])
                yield _problem(err, data, lines, file)
            continue
        slug, line = change.slug, lines.get(("topics", i)) or lines.get(("topics",))
        if slug in seen:
            yield Problem(file, f"topics[{i}].slug", f"topic {slug!r} is listed twice", line,
                          "give each topic once, with every change to it")
            continue
        seen.add(slug)
        given = change.model_dump(exclude={"slug", "remove"}, exclude_none=True)
        if change.remove:
            if slug not in shipped:
                close = difflib.get_close_matches(slug, list(shipped), n=1)
                yield Problem(file, f"topics[{i}].remove", f"no shipped topic {slug!r} to remove",
                              line, f"did you mean {close[0]!r}?" if close else
                              f"shipped topics: {', '.join(shipped)}")
            merged.pop(slug, None)
        elif slug in shipped:
            merged[slug] = {**shipped[slug], **given}
        elif "label" in given and "phrases" in given:
            merged[slug] = {"slug": slug, **given}
        else:
            close = difflib.get_close_matches(slug, list(shipped), n=1)
            yield Problem(file, f"topics[{i}]", f"new topic {slug!r} needs a label and phrases",
                          line, f"or did you mean the shipped {close[0]!r}?" if close else
                          "a shipped topic is changed by giving its slug")
    data["topics"] = list(merged.values())


_EXAMPLE = re.compile(r"(?:^|[.@/])example\.(?:org|com|net)\b|\.example\b", re.IGNORECASE)


def placeholders(config: Config) -> list[tuple[str, str]]:
    """Settings still naming the example domain once ``from_address`` is a real one:
    (path, value). Mail would go out saying it comes from one domain, with replies,
    unsubscribes and the crawler's contact going to another."""
    if _EXAMPLE.search(config.digest.from_address):
        return []
    d = config.digest
    named = [("digest.reply_to", d.reply_to), ("digest.list_id", d.list_id),
             ("digest.base_url", d.base_url),
             ("digest.unsubscribe_mailto", d.unsubscribe_mailto),
             ("fetch.user_agent", config.fetch.user_agent)]
    return [(path, value) for path, value in named if _EXAMPLE.search(value)]


def topic_changes(config: Config) -> dict[str, list[str]]:
    """How a config's topics differ from the shipped list: slugs added, changed, removed."""
    shipped = {t["slug"]: TopicSettings.model_validate(t) for t in default_topics()}
    ours = {t.slug: t for t in config.topics}
    return {"added": [s for s in ours if s not in shipped],
            "changed": [s for s in ours if s in shipped and ours[s] != shipped[s]],
            "removed": [s for s in shipped if s not in ours]}


def _duplicate_ids(data: dict, lines: dict, file: str) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    sources = data.get("sources")
    if not isinstance(sources, list):
        return
    for i, src in enumerate(sources):
        if isinstance(src, dict) and isinstance(src.get("id"), str):
            if src["id"] in seen:
                yield Problem(
                    file, f"sources[{i}].id", f"duplicate source id {src['id']!r}",
                    lines.get(("sources", i, "id")),
                    f"already used by sources[{seen[src['id']]}]; ids must be unique",
                )
            else:
                seen[src["id"]] = i


def _fmt(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(err: ErrorDetails, data: dict, lines: dict, file: str) -> Problem:
    loc = _strip_union_tags(tuple(err["loc"]), data)
    kind = err["type"]
    msg = err["msg"]
    hint = None
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "type")
        msg = "missing source type" if kind == "union_tag_not_found" else (
            f"unknown source type {_get(data, loc)!r}")
        hint = f"known types: {', '.join(REGISTRY)}"
    elif kind == "extra_forbidden":
        known = _known_keys(loc[:-1], data)
        msg = f"unknown key {loc[-1]!r}"
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
    elif kind == "missing":
        msg = "required setting is missing"
    elif msg.startswith("Value error, "):
        msg = msg.removeprefix("Value error, ")
    line = None
    for cut in range(len(loc), -1, -1):
        if (line := lines.get(loc[:cut])) is not None:
            break
    return Problem(file, _fmt(loc), msg, line, hint or _HINTS.get(kind))


_HINTS = {
    "string_type": "put the value in quotes",
    "bool_parsing": "use true or false",
    "bool_type": "use true or false",
    "int_parsing": "use a whole number",
    "int_type": "use a whole number",
    "float_parsing": "use a number",
    "string_pattern_mismatch": "use lower-case letters, digits, '-' and '_'",
    "tuple_type": "use a YAML list",
    "model_type": "use a mapping of settings",
    "model_attributes_type": "use a mapping of settings",
}


def _strip_union_tags(loc: tuple[Any, ...], data: dict) -> tuple[Any, ...]:
    """Pydantic puts the union tag into the path (sources.3.feed.url); drop it."""
    if len(loc) >= 3 and loc[0] == "sources" and isinstance(loc[1], int) and loc[2] in REGISTRY:
        return loc[:2] + loc[3:]
    return loc


def _get(data: Any, loc: Sequence[Any]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _known_keys(loc: Sequence[Any], data: dict) -> list[str]:
    """The settings allowed at a path, for 'did you mean' hints."""
    model: Any = Config
    for i, part in enumerate(loc):
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        if model is Config and part == "topics" and data.get("replace_topics") is not True:
            model = TopicChange
            continue
        if model is Config and part == "sources":
            kind = _get(data, [*list(loc[:i + 2]), "type"])
            model = REGISTRY[kind].settings if kind in REGISTRY else SourceBase
        else:
            model = _model_in(field.annotation)
        if model is None:
            return []
    return sorted(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            if (found := _model_in(arg)) is not None:
                return found
    return None
