"""Where messages go: an outbox folder (the default) or an SMTP server."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from sectorwatch.config import SmtpSettings
from sectorwatch.errors import SectorwatchError


class SendError(SectorwatchError):
    """``permanent``: this recipient will never get it; ``fatal``: stop the whole run."""

    stage = "send"

    def __init__(self, message: str, *, permanent: bool = False, fatal: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.fatal = fatal


class Transport(Protocol):
    def send(self, msg: EmailMessage, key: str) -> None: ...
    def close(self) -> None: ...


class OutboxTransport:
    """Writes KEY.eml (and KEY.html to look at) into a folder, atomically."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, msg: EmailMessage, key: str) -> None:
        self._write(f"{key}.eml", msg.as_bytes())
        html = msg.get_body(("html",))
        if html is not None:
            self._write(f"{key}.html", html.get_content().encode("utf-8"))

    def _write(self, name: str, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, self.folder / name)

    def close(self) -> None:
        pass


class SmtpTransport:
    """One connection reused, certificates verified, never a plaintext fallback."""

    def __init__(self, settings: SmtpSettings, sleep=time.sleep):
        self.settings = settings
        self._conn: smtplib.SMTP | None = None
        self._sleep = sleep
        self._last = 0.0

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        try:
            if s.security == "tls":
                conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    conn.starttls(context=context)
            if s.username:
                password = os.environ.get(s.password_env)
                if password is None:
                    raise SendError(f"${s.password_env} is not set", fatal=True)
                conn.login(s.username, password)
        except smtplib.SMTPNotSupportedError:
            raise SendError(f"{s.host} does not offer STARTTLS", fatal=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"SMTP login refused: {exc.smtp_code}", fatal=True) from None
        except ssl.SSLError as exc:
            raise SendError(f"TLS with {s.host} failed: {exc.reason}", fatal=True) from None
        except OSError as exc:
            raise SendError(f"cannot reach {s.host}:{s.port}: {exc}") from None
        return conn

    def send(self, msg: EmailMessage, key: str) -> None:
        wait = self._last + 1 / self.settings.rate - time.monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last = time.monotonic()
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            policy = _policy(reply)  # about us, not them: stop, and do not blame the reader
            raise SendError(f"recipient refused: {code} {reply.decode(errors='replace')}",
                            permanent=code >= 500 and not policy, fatal=policy) from None
        except smtplib.SMTPResponseException as exc:
            policy = exc.smtp_code >= 500 and _policy(exc.smtp_error)
            raise SendError(f"SMTP {exc.smtp_code} {exc.smtp_error.decode(errors='replace')}",
                            permanent=exc.smtp_code >= 500, fatal=policy) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._conn = None
            raise SendError(f"connection lost: {exc}") from None

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
            self._conn = None


def _policy(reply: bytes) -> bool:
    """5.7.x is about the sender (authentication, spam policy), not the recipient."""
    return b"5.7." in reply


def transport_for(settings, base: Path | None = None) -> Transport:
    if settings.transport == "smtp":
        return SmtpTransport(settings.smtp)
    folder = Path(settings.outbox_dir)
    return OutboxTransport(folder if folder.is_absolute() or base is None else base / folder)
