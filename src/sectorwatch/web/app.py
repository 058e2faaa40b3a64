"""The web app of `sectorwatch serve`: one Starlette application over the shared store.

Reading pages (home, archive, authorities, feeds) live in ``reading``; the search page
in ``searching``; subscribing, confirming, managing and unsubscribing in ``subscribing``;
what they share in ``context``. This module only builds the app: routes, security
middleware, error pages and static files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sectorwatch.config import Config
from sectorwatch.digest.render import environment
from sectorwatch.digest.transport import Transport, transport_for
from sectorwatch.store import Store
from sectorwatch.tokens import Signer
from sectorwatch.web import reading, searching, subscribing
from sectorwatch.web.context import Web
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


def create_app(config: Config, store: Store, signer: Signer, *,
               transport_factory: Callable[[Config], Transport] | None = None) -> Starlette:
    """The application. The store stays open for the app's life; the caller closes it."""
    settings = config.web
    https = config.digest.base_url.startswith("https://")
    templates = Path(config.digest.templates_dir) if config.digest.templates_dir else None
    web = Web(
        config=config, store=store, signer=signer, env=environment(templates),
        csrf=Csrf(signer, https=https, origins={origin_of(config.digest.base_url)}),
        transport_factory=transport_factory or (lambda c: transport_for(c.digest)),
        subscribe_limit=RateLimit(settings.subscribe_rate, 3600.0),
        mail_limit=RateLimit(settings.mails_per_address, 86_400.0))

    async def http_error(request: Request, exc: Exception) -> Response:
        # Starlette types every handler as taking any Exception; this one is registered
        # for HTTPException only.
        assert isinstance(exc, HTTPException)
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
        *reading.routes(web), *searching.routes(web), *subscribing.routes(web),
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
