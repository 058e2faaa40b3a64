"""Subscribe (double opt-in), confirm, manage and unsubscribe.

A GET never changes anything: mail scanners follow every link in a message, so each
link opens a page whose button POSTs. The subscribe form gives the same answer whatever
the address's state, and sends mail from a background thread so that timing does not
tell either. One-click unsubscribe (RFC 8058) needs no cookie and no CSRF token: the
signed token in its URL is the credential, and mail providers POST it from their servers.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TypedDict

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sectorwatch.digest.message import manage_url, notice
from sectorwatch.digest.render import clean_header_text
from sectorwatch.digest.subscribers import (
    FORMATS,
    Filters,
    SubscriberError,
    SubscriberSpec,
    UnmailableAddress,
    check_email,
    resolve_filters,
)
from sectorwatch.logs import event
from sectorwatch.store.subscribers import LEAVERS
from sectorwatch.web.context import Web
from sectorwatch.web.security import CSRF_FIELD

log = logging.getLogger("sectorwatch.web")

MAX_CHOICES = 300  # authorities + regions + topics in one form


def form_context(web: Web, filters: Filters, fmt: str = "html") -> dict:
    """What the subscribe and manage forms need to show (and pre-tick) the choices."""
    by_region: dict[str, list] = {}
    for a in sorted(web.authorities.values(), key=lambda a: a.name):
        if a.current:
            by_region.setdefault(a.region, []).append(a)
    return {"authority_groups": sorted(by_region.items()), "regions": web.regions,
            "topics": [(t.slug, t.label) for t in web.config.topics],
            "chosen": filters, "format": fmt}


def follows(web: Web, filters: Filters) -> str:
    """What a reader follows, in words: names and topic labels, not codes and slugs."""
    labels = {t.slug: t.label for t in web.config.topics}
    parts = [", ".join(web.authorities[c].name if c in web.authorities else c
                       for c in filters.authorities),
             ", ".join(filters.regions),
             ", ".join(labels.get(t, t) for t in filters.topics)]
    return "; ".join(p for p in parts if p) or "everything"


def mask(email: str) -> str:
    """j•••@example.org: enough for its owner to recognise, little for anyone else."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


async def _form(request: Request) -> FormData:
    try:
        return await request.form(max_files=0, max_fields=MAX_CHOICES + 10)
    except Exception as exc:  # a malformed body: multipart errors vary by library version
        raise HTTPException(400, "The form could not be read.") from exc


def _filters(web: Web, form: FormData) -> Filters:
    authorities = [a for a in form.getlist("authority") if isinstance(a, str)]
    regions = [r for r in form.getlist("region") if isinstance(r, str)]
    topics = [t for t in form.getlist("topic") if isinstance(t, str)]
    if len(authorities) + len(regions) + len(topics) > MAX_CHOICES:
        raise SubscriberError("too many choices in one form")
    return resolve_filters(authorities, regions, topics, [t.slug for t in web.config.topics])


def _text(form: FormData, name: str) -> str | None:
    """A text field of a form; None if it is missing (or, never accepted, a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else None


def _format(form: FormData) -> str:
    fmt = form.get("format", "html")
    return fmt if fmt in FORMATS else "html"


class _Links(TypedDict):
    """A subscriber's own pages, as the templates name them."""

    manage: str
    unsubscribe: str


def routes(web: Web) -> list[Route]:
    settings = web.config.web

    def links(key: str) -> _Links:
        return {"manage": f"/m/{web.signer.sign('manage', key)}",
                "unsubscribe": f"/u/{web.signer.sign('unsubscribe', key)}"}

    def refused_form(request: Request) -> Response:
        return web.page(request, "error.html.j2", 403, title="Please try again",
                        message="This form had expired or came from another site. Go back, "
                                "reload the page and send it again.")

    def used_up(request: Request) -> Response:
        """An old confirmation link for an address that has unsubscribed since."""
        return web.page(request, "error.html.j2", 410, title="This link has been used up",
                        message="This address unsubscribed after the link was sent. "
                                "Subscribe again to get a new one.", subscribe_link=True)

    def send_notice(kind: str, email: str, key: str) -> None:
        """Runs on the mail thread: the confirmation, or a reminder for an address that
        is subscribed already (with its manage link). Failures are logged, never raised."""
        base = web.base_url
        if kind == "confirm":
            token = web.signer.sign("confirm", key, ttl=settings.confirm_within)
            url = f"{base}/c/{token}"
            subject = "Confirm your Sectorwatch subscription"
        else:
            url = manage_url(web.config.digest, web.signer.sign("manage", key))
            subject = "You already subscribe to Sectorwatch"
        context = {"kind": kind, "url": url, "base_url": base,
                   "days": max(1, round(settings.confirm_within / 86_400))}
        text = web.env.get_template("notice.txt.j2").render(context)
        html = web.env.get_template("notice.html.j2").render(context)
        transport = None
        try:
            transport = web.transport_factory(web.config)
            transport.send(notice(web.config.digest, key=f"notice-{kind}-{key[:8]}",
                                  to=email, subject=subject, text=text, html=html))
            event(log, "web.mail_sent", f"{kind} email sent", kind=kind)
        except Exception as exc:  # the visitor has had their answer; say so in the log
            event(log, "web.mail_failed", f"{kind} email not sent: {exc}",
                  level=logging.ERROR, kind=kind, error=str(exc))
        finally:
            if transport is not None:
                transport.close()

    async def subscribe(request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        if not web.subscribe_limit.allow(client):
            response = web.page(request, "error.html.j2", 429, title="Too many requests",
                                message="Too many subscribe requests from your network. "
                                        "Please try again later.")
            response.headers["retry-after"] = str(web.subscribe_limit.retry_after(client))
            return response
        form = await _form(request)
        if not web.csrf.valid(request, _text(form, CSRF_FIELD)):
            return refused_form(request)
        email, name = str(form.get("email", "")), str(form.get("name", ""))[:80]
        errors = []
        filters = Filters()
        try:
            email = check_email(email[:320])
        except UnmailableAddress:
            errors.append("We cannot send to an address with accented or non-Latin letters "
                          "before the @. Please use another address.")
        except SubscriberError:
            errors.append("Please enter a valid email address.")
        try:
            filters = _filters(web, form)
        except SubscriberError as exc:
            errors.append(f"{exc.message}. {exc.hint or ''}".strip())
        if errors:
            return web.page(request, "home.html.j2", 400,
                            **form_context(web, filters, _format(form)),
                            issues=[], email=email, name=name, errors=errors)
        spec = SubscriberSpec(email, clean_header_text(name, 80), "pending", _format(form),
                              filters)
        state, key = await run_in_threadpool(web.store.request_subscription, spec)
        address_key = hashlib.sha256(email.casefold().encode()).hexdigest()
        if web.mail_limit.allow(address_key):
            web.mailer.submit(send_notice, "already" if state == "active" else "confirm",
                              email, key)
        event(log, "web.subscribe", "subscribe form accepted", state=state)
        return RedirectResponse("/subscribe/sent", status_code=303)

    def sent(request: Request) -> Response:
        return web.page(request, "sent.html.j2",
                        days=max(1, round(settings.confirm_within / 86_400)))

    def confirm_page(request: Request) -> Response:
        token = request.path_params["token"]
        key = web.signer.verify("confirm", token)
        if key is None:
            expired = web.signer.expired("confirm", token)
            return web.page(request, "error.html.j2", 410 if expired else 404,
                            title="This link has expired" if expired else "Link not valid",
                            message="Subscribe again and we will send you a new link."
                            if expired else "This confirmation link is not valid.",
                            subscribe_link=True)
        found = web.store.subscriber_by_key(key)
        if found is None:
            raise HTTPException(404)
        _, spec = found
        if spec.status in LEAVERS:  # a link from before they left: not a way back
            return used_up(request)
        return web.page(request, "confirm.html.j2", spec=spec, masked=mask(spec.email),
                        follows=follows(web, spec.filters), token=token, **links(key))

    async def confirm(request: Request) -> Response:
        token = request.path_params["token"]
        form = await _form(request)
        if not web.csrf.valid(request, _text(form, CSRF_FIELD)):
            return refused_form(request)
        key = web.signer.verify("confirm", token)
        if key is None:
            raise HTTPException(404)
        changed = await run_in_threadpool(web.store.set_status_by_key, key, "active",
                                          only_from="pending")
        if changed:
            event(log, "web.confirmed", "subscription confirmed")
        found = await run_in_threadpool(web.store.subscriber_by_key, key)
        if found is None or found[1].status != "active":
            return used_up(request)
        return RedirectResponse(f"{links(key)['manage']}?done=confirmed", status_code=303)

    def subscriber(token: str, purpose: str) -> tuple[str, SubscriberSpec]:
        key = web.signer.verify(purpose, token)
        if not key or (found := web.store.subscriber_by_key(key)) is None:
            raise HTTPException(404)
        return key, found[1]

    def manage_page(request: Request) -> Response:
        key, spec = subscriber(request.path_params["token"], "manage")
        done = request.query_params.get("done", "")
        return web.page(request, "manage.html.j2", spec=spec, errors=[],
                        follows=follows(web, spec.filters),
                        done=done if done in ("confirmed", "saved", "resubscribed") else "",
                        **form_context(web, spec.filters, spec.format), **links(key))

    async def manage(request: Request) -> Response:
        token = request.path_params["token"]
        form = await _form(request)
        key, spec = await run_in_threadpool(subscriber, token, "manage")
        if not web.csrf.valid(request, _text(form, CSRF_FIELD)):
            return refused_form(request)
        if form.get("action") == "resubscribe":
            await run_in_threadpool(web.store.set_status_by_key, key, "active",
                                    only_from=LEAVERS, detail="from the manage page")
            return RedirectResponse(f"/m/{token}?done=resubscribed", status_code=303)
        try:
            filters = _filters(web, form)
        except SubscriberError as exc:
            return web.page(request, "manage.html.j2", 400, spec=spec, done="",
                            follows=follows(web, spec.filters),
                            errors=[f"{exc.message}. {exc.hint or ''}".strip()],
                            **form_context(web, spec.filters, spec.format), **links(key))
        await run_in_threadpool(web.store.set_preferences, key, filters, _format(form))
        event(log, "web.preferences", "preferences saved")
        return RedirectResponse(f"/m/{token}?done=saved", status_code=303)

    def unsubscribe_page(request: Request) -> Response:
        _, spec = subscriber(request.path_params["token"], "unsubscribe")
        return web.page(request, "unsubscribe.html.j2", spec=spec, masked=mask(spec.email),
                        token=request.path_params["token"])

    async def unsubscribe(request: Request) -> Response:
        form = await _form(request)
        if form.get("List-Unsubscribe") != "One-Click":
            raise HTTPException(400, "Expected List-Unsubscribe=One-Click in the body.")
        key, spec = await run_in_threadpool(subscriber, request.path_params["token"],
                                            "unsubscribe")
        if await run_in_threadpool(web.store.set_status_by_key, key, "unsubscribed",
                                   via="link"):
            event(log, "web.unsubscribed", "unsubscribed")
        return web.plain_page("unsubscribed.html.j2", masked=mask(spec.email),
                              manage=links(key)["manage"])

    return [
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/subscribe/sent", sent),
        Route("/c/{token}", confirm_page, methods=["GET"]),
        Route("/c/{token}", confirm, methods=["POST"]),
        Route("/m/{token}", manage_page, methods=["GET"]),
        Route("/m/{token}", manage, methods=["POST"]),
        Route("/u/{token}", unsubscribe_page, methods=["GET"]),
        Route("/u/{token}", unsubscribe, methods=["POST"]),
    ]
