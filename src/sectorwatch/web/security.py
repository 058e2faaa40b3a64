"""What every response carries (CSP and friends) and the CSRF check on forms.

CSRF uses a signed double-submit cookie: a random value in a SameSite=Strict, HttpOnly
cookie, and the same value signed with the server's secret in each form. A POST passes
only if the form's value is a valid signature of the cookie's, and no Origin or
Sec-Fetch-Site header says the request came from another site.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sectorwatch.tokens import Signer

CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    # links carry tokens: never hand them to another site (no-referrer would also make
    # Chromium send "Origin: null" on our own forms)
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000"
CSRF_FIELD = "csrf"
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{32}")


class SecurityHeaders:
    """ASGI middleware: the headers above on every response (HSTS too over HTTPS), and
    no-store on pages whose URL holds a subscriber's token."""

    def __init__(self, app: ASGIApp, *, https: bool, private_prefixes: tuple[str, ...]):
        self.app, self.https, self.private = app, https, private_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope["path"].startswith(self.private)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items()
                         if k.encode() not in present]
                if self.https:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                if private:
                    extra += [(b"cache-control", b"no-store"),
                              (b"x-robots-tag", b"noindex, nofollow")]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Csrf:
    """Issues and checks CSRF tokens for one server."""

    def __init__(self, signer: Signer, *, https: bool, origins: set[str]):
        self.signer = signer
        self.https = https
        self.cookie = "__Host-sw_csrf" if https else "sw_csrf"
        self.origins = origins

    def token(self, request: Request) -> tuple[str, str | None]:
        """(the form field's value, a new cookie value to set or None)."""
        value = request.cookies.get(self.cookie, "")
        fresh = None
        if not _COOKIE_VALUE.fullmatch(value):
            value = fresh = secrets.token_urlsafe(24)
        return self.signer.sign("csrf", value), fresh

    def set_cookie(self, response, value: str) -> None:
        response.set_cookie(self.cookie, value, max_age=86_400 * 7, path="/",
                            secure=self.https, httponly=True, samesite="strict")

    def same_site(self, request: Request) -> bool:
        """No sign of a cross-site request (browsers send one or both headers)."""
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site not in (None, "same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None or (origin == "null" and fetch_site == "same-origin"):
            return True
        own = f"{request.url.scheme}://{request.url.netloc}"
        return origin in self.origins or origin == own

    def valid(self, request: Request, field: str | None) -> bool:
        cookie = request.cookies.get(self.cookie, "")
        return (bool(cookie) and bool(field) and self.same_site(request)
                and self.signer.verify("csrf", field or "") == cookie)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
