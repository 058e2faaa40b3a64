"""The web app of `sectorwatch serve`: one Starlette application over the shared store.

Reading pages (home, archive, authorities, feeds) live in ``reading``; subscribing,
confirming, managing and unsubscribing in ``subscribing``. This module wires them up with
the security middleware, the templates and the static files.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sectorwatch.config import Config
from sectorwatch.digest.render import environment
from sectorwatch.digest.transport import Transport, transport_for
from sectorwatch.store import Store
from sectorwatch.tag.authorities import gazetteer
from sectorwatch.tokens import Signer
from sectorwatch.web.limits import RateLimit
from sectorwatch.web.security import HEADERS, HSTS, Csrf, SecurityHeaders, origin_of

log = logging.getLogger("sectorwatch.web")

MAX_BODY = 64_000  # bytes in a form post: the longest real one is a few kilobytes
PRIVATE = ("/m/", "/u/", "/c/")  # pages whose URL holds a token
ERRORS = {
    400: ("Bad request", ""),
    404: ("Page not found", "There is nothing at this address. A link from an email may "
                            "have been cut short or changed."),
    405: ("Not allowed", "This page does not accept that kind of request."),
    413: ("Too large", "That was too much to send at once."),
}


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class Authority:
    code: str
    name: str
    official_name: str
    region: str
    kind: str
    slug: str
    current: bool
    end: str | None
    replaced_by: tuple[str, ...] = ()


def authorities() -> dict[str, Authority]:
    """Every authority by code, with a URL slug: its name, and its end year for an
    authority that no longer exists (Dorset before 2019 is dorset-2019)."""
    out = {}
    for code, info in gazetteer().authorities.items():
        end = info.get("end")
        name_slug = slug(info["name"]) + (f"-{end[:4]}" if end else "")
        out[code] = Authority(code, info["name"], info.get("official_name") or info["name"],
                              info["region"], info.get("type") or "", name_slug, not end, end,
                              tuple(info.get("replaced_by") or ()))
    return out


@dataclass
class Web:
    """What the handlers share."""

    config: Config
    store: Store
    signer: Signer
    env: jinja2.Environment
    csrf: Csrf
    transport_factory: Callable[[Config], Transport]
    subscribe_limit: RateLimit
    mail_limit: RateLimit
    mailer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="sectorwatch-mail"))

    @property
    def base_url(self) -> str:
        return self.config.digest.base_url.rstrip("/")

    @cached_property
    def authorities(self) -> dict[str, Authority]:
        return authorities()

    @cached_property
    def by_slug(self) -> dict[str, Authority]:
        return {a.slug: a for a in self.authorities.values()}

    @cached_property
    def source_names(self) -> dict[str, str]:
        return {s.id: s.label for s in self.config.sources}

    @cached_property
    def regions(self) -> list[str]:
        return sorted({a.region for a in self.authorities.values()})

    def page(self, request: Request, template: str, status: int = 200, **context
             ) -> HTMLResponse:
        """A page from templates/web/, with a CSRF token for any form on it."""
        token, fresh = self.csrf.token(request)
        html = self.env.get_template(f"web/{template}").render(
            csrf=token, base_url=self.base_url, path=request.url.path, **context)
        response = HTMLResponse(html, status_code=status)
        if fresh:
            self.csrf.set_cookie(response, fresh)
        return response

    def plain_page(self, template: str, status: int = 200, **context) -> HTMLResponse:
        """A page with no form, and so no cookie (the one-click unsubscribe's answer)."""
        html = self.env.get_template(f"web/{template}").render(
            csrf="", base_url=self.base_url, path="", **context)
        return HTMLResponse(html, status_code=status)


def create_app(config: Config, store: Store, signer: Signer, *,
               transport_factory: Callable[[Config], Transport] | None = None) -> Starlette:
    """The application. The store stays open for the app's life; the caller closes it."""
    from sectorwatch.web import reading, subscribing

    settings = config.web
    https = config.digest.base_url.startswith("https://")
    templates = Path(config.digest.templates_dir) if config.digest.templates_dir else None
    web = Web(
        config=config, store=store, signer=signer, env=environment(templates),
        csrf=Csrf(signer, https=https, origins={origin_of(config.digest.base_url)}),
        transport_factory=transport_factory or (lambda c: transport_for(c.digest)),
        subscribe_limit=RateLimit(settings.subscribe_rate, 3600.0),
        mail_limit=RateLimit(settings.mails_per_address, 86_400.0))

    async def http_error(request: Request, exc: HTTPException) -> Response:
        status = exc.status_code
        title, message = ERRORS.get(status, (f"Error {status}", exc.detail))
        return web.plain_page("error.html.j2", status, title=title,
                              message=exc.detail if status == 400 else message)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("error serving %s", request.url.path)
        page = web.plain_page("error.html.j2", 500, title="Something went wrong",
                              message="The server could not answer. Please try again later.")
        page.headers.update(HEADERS)  # answered outside the middleware: add them here
        if https:
            page.headers["strict-transport-security"] = HSTS
        return page

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        web.mailer.shutdown(wait=True)  # confirmation emails already accepted still go

    static = Path(str(resources.files("sectorwatch").joinpath("web", "static")))
    routes = [
        *reading.routes(web), *subscribing.routes(web),
        Route("/robots.txt", lambda r: PlainTextResponse(
            "User-agent: *\nDisallow: /m/\nDisallow: /u/\nDisallow: /c/\n")),
        Route("/healthz", lambda r: PlainTextResponse("ok")),
        Route("/favicon.ico", lambda r: Response(status_code=204)),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, 500: server_error})
    app.state.web = web
    # The last added is outermost: the headers go on every answer, a 413 included.
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(SecurityHeaders, https=https, private_prefixes=PRIVATE)
    return app


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes (413), declared or streamed."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await PlainTextResponse("request body too large", 413)(scope, receive, send)
            return
        seen = 0

        async def bounded():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413)
            return message

        await self.app(scope, bounded, send)
