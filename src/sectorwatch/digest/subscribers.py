"""Subscribers as data: addresses and filters checked before anything is stored.

Pure functions; the store keeps what these produce. Unknown authorities, regions and
topics are errors that suggest the nearest known name, because a filter that silently
matches nothing is a digest that silently never arrives.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from email_validator import EmailNotValidError, validate_email

from sectorwatch import gazetteer
from sectorwatch.errors import SectorwatchError
from sectorwatch.models import Filters, SubscriberSpec

FORMATS = ("html", "text")
STATUSES = ("pending", "active", "unsubscribed", "bounced")
CSV_FIELDS = ("email", "name", "status", "format", "authorities", "regions", "topics")


class SubscriberError(SectorwatchError):
    stage = "subscribers"


class UnmailableAddress(SubscriberError):
    """A well-formed address that this sender cannot deliver to (non-ASCII before the @)."""


def check_email(address: str) -> str:
    """The address as it is stored and mailed, or SubscriberError saying what is wrong.

    A domain in another script is kept in its ASCII (IDNA) form, which every mail server
    can route. An address with non-ASCII letters before the @ is refused: only relays
    and mailboxes that speak SMTPUTF8 can deliver it, and a digest that can never arrive
    is worse than a clear refusal now.
    """
    try:
        checked = validate_email(address.strip(), check_deliverability=False,
                                 allow_smtputf8=False)
        return checked.ascii_email or checked.normalized
    except EmailNotValidError as exc:
        if "before the @-sign are not supported" in str(exc):
            raise UnmailableAddress(
                f"cannot mail {address!r}: the part before the @ has non-ASCII characters",
                hint="use an address written in plain ASCII letters before the @ (many "
                     "mail servers cannot deliver the other kind)") from None
        raise SubscriberError(f"not a usable email address {address!r}: {exc}") from None


def resolve_filters(authorities: Sequence[str], regions: Sequence[str], topics: Sequence[str],
                    known_topics: Sequence[str]) -> Filters:
    """Names or codes → codes; regions and topics checked; nearest names suggested."""
    try:
        codes = gazetteer.codes_for(authorities)
        checked_regions = [gazetteer.resolve_region(r) for r in regions]
    except gazetteer.UnknownName as exc:
        raise SubscriberError(exc.message, hint=exc.hint) from None
    for topic in topics:
        if topic not in known_topics:
            raise SubscriberError(f"unknown topic {topic!r}", hint=gazetteer.suggest(
                topic, known_topics, "a topic slug"))
    return Filters(tuple(dict.fromkeys(codes)), tuple(dict.fromkeys(checked_regions)),
                   tuple(dict.fromkeys(topics)))


def parse_csv(text: str, known_topics: Sequence[str]) -> list[SubscriberSpec]:
    """Every row checked; SubscriberError lists every bad row (line numbers) at once."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"email"} - set(reader.fieldnames or ())
    if missing:
        raise SubscriberError("the CSV has no 'email' column",
                              hint=f"columns: {', '.join(CSV_FIELDS)}")
    unknown = set(reader.fieldnames or ()) - set(CSV_FIELDS)
    if unknown:
        raise SubscriberError(f"unknown CSV columns: {', '.join(sorted(unknown))}",
                              hint=f"columns: {', '.join(CSV_FIELDS)}")
    specs: list[SubscriberSpec] = []
    problems: list[str] = []
    seen: dict[str, int] = {}  # email → the line it is on
    for line, row in enumerate(reader, start=2):
        try:
            email = check_email(row.get("email") or "")
            if email in seen:
                raise SubscriberError(f"{email} is also on line {seen[email]}")
            seen[email] = line
            status = (row.get("status") or "active").strip()
            fmt = (row.get("format") or "html").strip()
            if status not in STATUSES:
                raise SubscriberError(f"status must be one of {', '.join(STATUSES)}")
            if fmt not in FORMATS:
                raise SubscriberError(f"format must be one of {', '.join(FORMATS)}")
            filters = resolve_filters(_split(row.get("authorities")), _split(row.get("regions")),
                                      _split(row.get("topics")), known_topics)
            specs.append(SubscriberSpec(email, (row.get("name") or "").strip(), status, fmt,
                                        filters))
        except SubscriberError as exc:
            problems.append(f"line {line}: {exc.message}" + (f" ({exc.hint})" if exc.hint
                                                            else ""))
    if problems:
        raise SubscriberError(f"{len(problems)} bad row(s), nothing imported:\n  "
                              + "\n  ".join(problems))
    return specs


def to_csv(rows: Iterable[SubscriberSpec]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for spec in rows:
        writer.writerow({"email": spec.email, "name": spec.name, "status": spec.status,
                         "format": spec.format,
                         "authorities": "|".join(spec.filters.authorities),
                         "regions": "|".join(spec.filters.regions),
                         "topics": "|".join(spec.filters.topics)})
    return out.getvalue()


def _split(cell: str | None) -> list[str]:
    return [part.strip() for part in (cell or "").split("|") if part.strip()]
