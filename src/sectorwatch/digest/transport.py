"""Where messages go: an outbox folder (the default) or an SMTP server."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import tempfile
import time
from pathlib import Path
from typing import Protocol

from sectorwatch.config import SmtpSettings
from sectorwatch.digest.message import Outgoing
from sectorwatch.errors import SectorwatchError


class SendError(SectorwatchError):
    """``permanent``: this recipient will never get it; ``fatal``: stop the whole run (the
    message stays pending for the next run)."""

    stage = "send"

    def __init__(self, message: str, *, permanent: bool = False, fatal: bool = False,
                 hint: str | None = None):
        super().__init__(message, hint=hint)
        self.permanent = permanent
        self.fatal = fatal


class Transport(Protocol):
    def send(self, msg: Outgoing) -> None: ...
    def close(self) -> None: ...


class OutboxTransport:
    """Writes KEY.eml (and KEY.html to look at) into a folder, atomically."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, msg: Outgoing) -> None:
        self._write(f"{msg.key}.eml", msg.data)
        if msg.html is not None:
            self._write(f"{msg.key}.html", msg.html.encode("utf-8"))

    def _write(self, name: str, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, self.folder / name)

    def close(self) -> None:
        pass


class SmtpTransport:
    """A connection reused for ``messages_per_connection`` messages, certificates verified,
    never a plaintext fallback, at most ``rate`` messages a second."""

    def __init__(self, settings: SmtpSettings, sleep=time.sleep):
        self.settings = settings
        self._conn: smtplib.SMTP | None = None
        self._sleep = sleep
        self._last = 0.0
        self._on_conn = 0

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            context = ssl.create_default_context(cafile=s.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SendError(f"cannot read the CA file {s.ca_file}: {exc}", fatal=True) from None
        opened: list[smtplib.SMTP] = []
        try:
            if s.security == "tls":
                opened.append(smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                               context=context))
            else:
                opened.append(smtplib.SMTP(s.host, s.port, timeout=s.timeout))
                if s.security == "starttls":
                    try:
                        opened[0].starttls(context=context)
                    except smtplib.SMTPNotSupportedError:  # never carry on in plain text
                        raise SendError(f"{s.host} does not offer STARTTLS", fatal=True,
                                        hint="use security: tls on port 465") from None
            if s.username:
                password = os.environ.get(s.password_env)
                if password is None:
                    raise SendError(f"${s.password_env} is not set", fatal=True,
                                    hint="the SMTP password comes from the environment")
                opened[0].login(s.username, password)
            return opened.pop()
        except smtplib.SMTPNotSupportedError:
            raise SendError(f"{s.host} offers no login (AUTH)", fatal=True,
                            hint="remove digest.smtp.username if it needs none") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"SMTP login refused: {exc.smtp_code}", fatal=True) from None
        except ssl.SSLCertVerificationError as exc:
            raise SendError(f"{s.host}'s certificate was not trusted: "
                            f"{exc.verify_message}", fatal=True,
                            hint="set digest.smtp.ca_file for a private CA") from None
        except ssl.SSLError as exc:
            raise SendError(f"TLS with {s.host} failed: {exc.reason}", fatal=True) from None
        except OSError as exc:
            raise SendError(f"cannot reach {s.host}:{s.port}: {exc}", fatal=True) from None
        finally:
            for conn in opened:  # set up failed half-way: let the server go
                conn.close()

    def send(self, msg: Outgoing) -> None:
        wait = self._last + 1 / self.settings.rate - time.monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last = time.monotonic()
        if self._on_conn >= self.settings.messages_per_connection:
            self.close()
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
                self._on_conn = 0
            try:
                self._conn.sendmail(msg.sender, [msg.recipient], msg.data)
                self._on_conn += 1
                return
            except (UnicodeError, smtplib.SMTPNotSupportedError) as exc:
                # An address this server cannot take (non-ASCII, no SMTPUTF8): smtplib
                # stops half-way through the transaction, so reset it for the next reader.
                self._reset()
                raise SendError(f"the server cannot deliver to this address: {exc}",
                                permanent=True) from None
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                policy = _policy(reply)  # about us, not them: stop, and do not blame them
                raise SendError(f"recipient refused: {code} {reply.decode(errors='replace')}",
                                permanent=code >= 500 and not policy, fatal=policy) from None
            except smtplib.SMTPSenderRefused as exc:  # about us: every message would fail
                raise SendError(_said(exc), fatal=True) from None
            except smtplib.SMTPDataError as exc:  # a 5xx for the content fails them all
                raise SendError(_said(exc), permanent=exc.smtp_code >= 500,
                                fatal=exc.smtp_code >= 500 or exc.smtp_code == 421) from None
            except smtplib.SMTPResponseException as exc:
                raise SendError(_said(exc), permanent=exc.smtp_code >= 500 and
                                not _policy(exc.smtp_error),
                                fatal=exc.smtp_code == 421 or _policy(exc.smtp_error)) from None
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._conn = None  # reconnect once; a second loss stops the run
                if attempt == 2:
                    raise SendError(f"connection to {self.settings.host} lost: {exc}",
                                    fatal=True) from None

    def _reset(self) -> None:
        """End a half-done mail transaction (RSET); a connection that cannot is dropped."""
        if self._conn is None:
            return
        try:
            self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
            self._conn = None


def _said(exc: smtplib.SMTPResponseException) -> str:
    return f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}"


def _text(reply: bytes | str) -> str:
    """A server's reply as text (smtplib passes bytes on; an exception may carry a str)."""
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _policy(reply: bytes | str) -> bool:
    """5.7.x is about the sender (authentication, spam policy), not the recipient."""
    return "5.7." in _text(reply)


def transport_for(settings, base: Path | None = None) -> Transport:
    if settings.transport == "smtp":
        return SmtpTransport(settings.smtp)
    folder = Path(settings.outbox_dir)
    return OutboxTransport(folder if folder.is_absolute() or base is None else base / folder)
