"""What the web pages share: the settings, the store, the signer, the templates, the
rate limits and the gazetteer's authorities, with the page helpers every route uses."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from sectorwatch import gazetteer
from sectorwatch.config import Config
from sectorwatch.digest.transport import Transport
from sectorwatch.gazetteer import Authority
from sectorwatch.store import Store
from sectorwatch.tokens import Signer
from sectorwatch.web.limits import RateLimit
from sectorwatch.web.security import Csrf


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
        return gazetteer.authorities()

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
