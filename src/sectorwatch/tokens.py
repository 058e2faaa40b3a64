"""Signed links for subscribers: /m/ (manage), /u/ (unsubscribe), /c/ (confirm).

A link token is the subscriber's stored key plus an HMAC-SHA256 over the link's purpose,
the key and (for confirmation) an expiry, keyed by a secret from the environment. Without
the secret no token can be made or altered: a copy of the database alone is not enough,
and a manage token cannot be turned into an unsubscribe one or the other way round.

The secret is read from the environment (``web.secret_env``); a previous secret
(``web.previous_secret_env``) is still accepted, so a rotation does not break the links
in digests already sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sectorwatch.errors import SectorwatchError

PURPOSES = ("manage", "unsubscribe", "confirm", "csrf")
MIN_SECRET = 32  # characters
_SIG = 22  # base64url characters of the MAC kept: 132 bits
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
_MAC = re.compile(rf"[A-Za-z0-9_-]{{{_SIG}}}")


class SecretError(SectorwatchError):
    """The signing secret is missing or too weak."""

    exit_code = 2


def _mac(secret: bytes, message: str) -> str:
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_SIG]


@dataclass(frozen=True)
class Signer:
    """Makes and checks tokens. ``secrets[0]`` signs; every one of them verifies."""

    secrets: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.secrets:
            raise SecretError("no signing secret")

    def _message(self, purpose: str, key: str, expires: int | None) -> str:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown token purpose {purpose!r}")
        return f"sectorwatch/{purpose}/{key}/{'' if expires is None else expires}"

    def sign(self, purpose: str, key: str, *, ttl: float | None = None,
             now: float | None = None) -> str:
        """``key.sig``, or ``key.expiry.sig`` when ``ttl`` (seconds) is given."""
        if not _KEY.fullmatch(key):
            raise ValueError("a token key is 16 to 64 URL-safe characters")
        expires = None if ttl is None else int((time.time() if now is None else now) + ttl)
        mac = _mac(self.secrets[0], self._message(purpose, key, expires))
        return f"{key}.{mac}" if expires is None else f"{key}.{expires:x}.{mac}"

    def verify(self, purpose: str, token: str, *, now: float | None = None) -> str | None:
        """The key a valid, unexpired token of this purpose carries; None for anything
        else (forged, altered, expired, another purpose, malformed)."""
        parts = (token or "").split(".")
        if len(parts) == 2:
            key, expires, mac = parts[0], None, parts[1]
        elif len(parts) == 3 and re.fullmatch(r"[1-9a-f][0-9a-f]{0,11}", parts[1]):
            key, expires, mac = parts[0], int(parts[1], 16), parts[2]
        else:
            return None
        if not _KEY.fullmatch(key) or not _MAC.fullmatch(mac):
            return None
        message = self._message(purpose, key, expires)
        # compare against every secret, so timing does not tell which one matched
        good = [hmac.compare_digest(_mac(s, message), mac) for s in self.secrets]
        if not any(good):
            return None
        if expires is not None and expires < (time.time() if now is None else now):
            return None
        return key

    def expired(self, purpose: str, token: str) -> bool:
        """A correctly signed token whose time is up (to say so rather than 'not found')."""
        return self.verify(purpose, token, now=0) is not None and \
            self.verify(purpose, token) is None


def signer_from_env(name: str, previous: str | None = None,
                    env: Mapping[str, str] | None = None) -> Signer:
    """The signer for the secret in environment variable ``name`` (and ``previous``, if
    set, for checking only). Raises SecretError naming the variable when it is unusable."""
    environ: Mapping[str, str] = os.environ if env is None else env
    value = environ.get(name, "")
    if not value:
        raise SecretError(
            f"the environment variable {name} must hold the secret that signs subscriber "
            f"links (at least {MIN_SECRET} characters)", hint=f"make one with: export "
            f"{name}=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')\"")
    if len(value) < MIN_SECRET:
        raise SecretError(f"the secret in {name} is {len(value)} characters; it must be at "
                          f"least {MIN_SECRET}")
    keys: list[bytes] = [value.encode()]
    if previous and (old := environ.get(previous, "")):
        keys.append(old.encode())
    return Signer(tuple(keys))


def ephemeral_signer() -> Signer:
    """A signer whose links work nowhere: for previews made without the real secret."""
    return Signer((os.urandom(32),))


def preview_signer(secret_env: str, previous_env: str | None = None) -> Signer:
    """The real signer if its secret is set, else one whose links work nowhere (a preview
    or dry run needs no working links)."""
    try:
        return signer_from_env(secret_env, previous_env)
    except SecretError:
        return ephemeral_signer()
