"""Unsubscribing by email: the mailto: in List-Unsubscribe, read from an IMAP folder or a
local maildir (``digest.unsubscribe_mailbox``).

Each unseen message is read, its first ``max_bytes`` only, and the reader's signed
unsubscribe token is looked for in its Subject (where the mailto puts it, whatever a mail
client adds around it: ``Re:``, quotes, spaces), then in its text. A valid token
unsubscribes that reader as the one-click link does, and the message is deleted. A
message without one is left where it is, marked seen, for a person to read.

Nothing is ever sent back: the sender may be forged, and a reply would make us a mail
reflector. Applying a token twice changes nothing, so two pollers at once, or a crash
between the unsubscribe and the delete, cost nothing.
"""

from __future__ import annotations

import contextlib
import email
import imaplib
import logging
import os
import re
import ssl
import threading
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from sectorwatch.config import Config, UnsubscribeMailboxSettings
from sectorwatch.errors import SectorwatchError
from sectorwatch.logs import event
from sectorwatch.store import Store
from sectorwatch.tokens import Signer

log = logging.getLogger("sectorwatch.mailbox")

# A link token (tokens.py): key, optional hex expiry, MAC; not part of a longer word
TOKEN = re.compile(r"(?<![A-Za-z0-9_.-])[A-Za-z0-9_-]{16,64}\.(?:[0-9a-f]{1,12}\.)?"
                   r"[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])")
MAX_CANDIDATES = 20  # tokens tried per message: a message full of them gets no more work
MAX_PARTS = 50  # MIME parts searched per message
SUBJECT_CHARS = 1000


class MailboxError(SectorwatchError):
    """The mailbox could not be read (unreachable, refused, untrusted); nothing was lost:
    its messages wait for the next poll."""

    stage = "mailbox"
    failure = True


@dataclass
class PollReport:
    read: int = 0
    unsubscribed: int = 0
    unchanged: int = 0
    """A valid token whose reader had already left (or is no longer stored)."""
    ignored: int = 0
    """No valid token: left in the mailbox, marked seen, for a person to read."""
    waiting: int = 0
    """Unseen messages beyond max_messages, left for the next poll."""
    stopped: bool = False
    seconds: float = 0.0


class Folder(Protocol):
    """Where requests arrive. Message ids are the folder's own (a UID, a file name)."""

    def unseen(self) -> list[str]: ...
    def read(self, ident: str, limit: int) -> bytes | None: ...
    def delete(self, ident: str) -> None: ...
    def mark_seen(self, ident: str) -> None: ...
    def close(self) -> None: ...


def find_key(data: bytes, signer: Signer) -> tuple[str, str] | None:
    """(the subscriber key a valid unsubscribe token in the message carries, where it was
    found), or None. The Subject first; the text after, except in an automatic reply or
    delivery report, which quotes a digest (and its links) without anyone asking."""
    msg = email.message_from_bytes(data, policy=policy.default)
    subject = _header(msg, "Subject")[:SUBJECT_CHARS]
    if (key := _first_valid(subject, signer)) is not None:
        return key, "subject"
    auto = _header(msg, "Auto-Submitted").strip().lower()
    if msg.get_content_type() == "multipart/report" or auto.startswith("auto-replied"):
        return None
    for k, part in enumerate(msg.walk()):
        if k >= MAX_PARTS:
            break
        if part.get_content_maintype() != "text":
            continue
        try:
            text = part.get_content()
        except (LookupError, ValueError, AssertionError):  # unknown charset, bad encoding
            continue
        if (key := _first_valid(text, signer)) is not None:
            return key, "body"
    return None


def _header(msg: EmailMessage, name: str) -> str:
    try:
        return str(msg.get(name) or "")
    except (ValueError, IndexError, TypeError):  # a header the parser cannot make sense of
        return ""


def _first_valid(text: str, signer: Signer) -> str | None:
    for k, found in enumerate(TOKEN.finditer(text)):
        if k >= MAX_CANDIDATES:
            break
        if (key := signer.verify("unsubscribe", found[0])) is not None:
            return key
    return None


def poll(config: Config, store: Store, signer: Signer, *,
         stop: threading.Event | None = None, folder: Folder | None = None) -> PollReport:
    """Read the unsubscribe mailbox once: apply every valid token, delete those messages,
    mark the others seen. Raises MailboxError when the mailbox cannot be read."""
    settings = config.digest.unsubscribe_mailbox
    began = time.monotonic()
    folder = folder or open_folder(settings)
    report = PollReport()
    try:
        pending = folder.unseen()
        report.waiting = max(0, len(pending) - settings.max_messages)
        for ident in pending[:settings.max_messages]:
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            data = folder.read(ident, settings.max_bytes)
            if data is None:  # another poller took it
                continue
            report.read += 1
            _handle(store, signer, folder, ident, data, report)
    finally:
        folder.close()
    report.seconds = time.monotonic() - began
    event(log, "mailbox.polled", f"read {report.read}: {report.unsubscribed} unsubscribed",
          source=settings.describe(), read=report.read, unsubscribed=report.unsubscribed,
          unchanged=report.unchanged, ignored=report.ignored, waiting=report.waiting,
          stopped=report.stopped, seconds=round(report.seconds, 2))
    return report


def _handle(store: Store, signer: Signer, folder: Folder, ident: str, data: bytes,
            report: PollReport) -> None:
    """One message: unsubscribe and delete it, or leave it seen."""
    try:
        found = find_key(data, signer)
    except Exception:  # hostile mail (parts nested past the recursion limit, say) is
        found = None  # ignored: raising would leave it unseen and first in every poll
    if found is None:
        report.ignored += 1
        folder.mark_seen(ident)
        event(log, "mailbox.ignored", "a message without a valid unsubscribe token: left, "
              "marked seen", size=len(data))
        return
    key, where = found
    # the database first: a crash before the delete only means reading it again
    if store.set_status_by_key(key, "unsubscribed", via="mailbox",
                               detail=f"unsubscribe email (token in the {where})"):
        report.unsubscribed += 1
        row = store.subscriber_by_key(key)
        event(log, "mailbox.unsubscribed", "unsubscribed by email",
              subscriber=row[0] if row else None, found_in=where)
    else:
        report.unchanged += 1
    folder.delete(ident)


# -- a local maildir -------------------------------------------------------------------------

class MaildirFolder:
    """A maildir: new/ and cur/ hold messages; 'S' in a name's ``:2,`` flags means seen.
    Every change is a rename or an unlink, which another process cannot half-see."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).expanduser()
        if not (self.path / "new").is_dir() or not (self.path / "cur").is_dir():
            raise MailboxError(f"{self.path} is not a maildir (it has no new/ and cur/)",
                               hint="set digest.unsubscribe_mailbox.maildir to the folder "
                                    "your mail server delivers to")

    def unseen(self) -> list[str]:
        names = []
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as entries:
                names += [f"{sub}/{e.name}" for e in entries
                          if not e.name.startswith(".") and "S" not in _flags(e.name)]
        return sorted(names, key=lambda n: n.split("/", 1)[1])  # names begin with a time

    def read(self, ident: str, limit: int) -> bytes | None:
        try:
            with open(self.path / ident, "rb") as f:
                return f.read(limit)
        except FileNotFoundError:
            return None

    def delete(self, ident: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path / ident)

    def mark_seen(self, ident: str) -> None:
        name = ident.split("/", 1)[1]
        base = name.split(":", 1)[0]
        flags = "".join(sorted(set(_flags(name)) | {"S"}))
        with contextlib.suppress(FileNotFoundError):
            os.rename(self.path / ident, self.path / "cur" / f"{base}:2,{flags}")

    def close(self) -> None:
        pass


def _flags(name: str) -> str:
    info = name.partition(":")[2]
    return info[2:] if info.startswith("2,") else ""


# -- IMAP ------------------------------------------------------------------------------------

class ImapFolder:
    """One IMAP session on one folder, TLS with verified certificates (never a plain-text
    fallback). Messages are read with BODY.PEEK (reading marks nothing) and only their
    first bytes, and named by UID, so a message another session expunged is just absent."""

    def __init__(self, settings: UnsubscribeMailboxSettings):
        self.settings = settings
        self.capabilities: set[str] = set()
        self.conn = self._connect()

    def _connect(self) -> imaplib.IMAP4:
        s = self.settings
        host = s.host
        if not host:  # the settings' validation requires one for type imap
            raise MailboxError("no IMAP host is configured",
                               hint="set digest.unsubscribe_mailbox.host")
        where = f"{host}:{s.imap_port}"
        conn: imaplib.IMAP4 | None = None
        try:
            context = ssl.create_default_context(cafile=s.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise MailboxError(f"cannot read the CA file {s.ca_file}: {exc}") from None
        try:
            if s.security == "tls":
                conn = imaplib.IMAP4_SSL(host, s.imap_port, ssl_context=context,
                                         timeout=s.timeout)
            else:
                conn = imaplib.IMAP4(host, s.imap_port, timeout=s.timeout)
                if s.security == "starttls":
                    if "STARTTLS" not in conn.capabilities:  # never carry on in plain text
                        raise MailboxError(f"{where} does not offer STARTTLS",
                                           hint="use security: tls (port 993)")
                    conn.starttls(ssl_context=context)
            password = os.environ.get(s.password_env)
            if password is None:
                raise MailboxError(f"${s.password_env} is not set",
                                   hint="the IMAP password comes from the environment")
            try:
                conn.login(s.username or "", password)
            except imaplib.IMAP4.error:
                raise MailboxError(f"IMAP login to {where} refused",
                                   hint="check username and the password variable") from None
            typ, _ = conn.select(_quoted(s.folder))
            if typ != "OK":
                raise MailboxError(f"{where} has no folder {s.folder!r}")
            typ, data = conn.capability()  # a server says more once logged in
            self.capabilities = set(conn.capabilities) | (
                set(data[-1].decode(errors="replace").upper().split()) if typ == "OK" else set())
            opened, conn = conn, None
            return opened
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(f"{s.host}'s certificate was not trusted: "
                               f"{exc.verify_message}",
                               hint="set digest.unsubscribe_mailbox.ca_file for a private "
                                    "CA") from None
        except ssl.SSLError as exc:
            raise MailboxError(f"TLS with {where} failed: {exc.reason}") from None
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"IMAP with {where} failed: {exc}") from None
        except OSError as exc:
            raise MailboxError(f"cannot reach {where}: {exc}") from None
        finally:
            if conn is not None:  # set up failed half-way: let the server go
                with contextlib.suppress(imaplib.IMAP4.error, OSError):
                    conn.shutdown()

    def _uid(self, *args: str) -> list:
        try:
            typ, data = self.conn.uid(*args)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"IMAP {args[0]} failed: {exc}") from None
        if typ != "OK":
            raise MailboxError(f"IMAP {args[0]} refused: {data!r:.200}")
        return data

    def unseen(self) -> list[str]:
        data = self._uid("SEARCH", "UNSEEN", "UNDELETED")
        return sorted((u.decode() for u in (data[0] or b"").split()), key=int)

    def read(self, ident: str, limit: int) -> bytes | None:
        for item in self._uid("FETCH", ident, f"(BODY.PEEK[]<0.{limit}>)"):
            if isinstance(item, tuple):
                return item[1][:limit]
        return None  # expunged by another session

    def delete(self, ident: str) -> None:
        self._uid("STORE", ident, "+FLAGS.SILENT", r"(\Seen \Deleted)")
        if "UIDPLUS" in self.capabilities:
            self._uid("EXPUNGE", ident)  # this message only, not others marked deleted
        else:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                self.conn.expunge()

    def mark_seen(self, ident: str) -> None:
        self._uid("STORE", ident, "+FLAGS.SILENT", r"(\Seen)")

    def close(self) -> None:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self.conn.close()
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self.conn.logout()


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def open_folder(settings: UnsubscribeMailboxSettings) -> Folder:
    if settings.type == "imap":
        return ImapFolder(settings)
    if settings.type == "maildir":
        return MaildirFolder(settings.maildir or "")
    raise MailboxError("no unsubscribe mailbox is configured",
                       hint="set digest.unsubscribe_mailbox (type imap or maildir)")
