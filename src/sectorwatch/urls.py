"""URL identity: one spelling per article, whatever the feed or page called it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_")
_TRACKING_KEYS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "_ga",
     "igshid", "yclid", "ref_src", "cmpid", "ito", "at_medium", "at_campaign", "s_cid"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicalize(url: str, base: str | None = None) -> str:
    """Resolve against ``base``, drop the fragment and tracking parameters, lower-case the host.

    Path case and the order of the remaining query parameters are kept: servers may
    treat them as significant.
    """
    if base:
        url = urljoin(base, url.strip())
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in pairs
             if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_KEYS]
    # Re-encode only when something was removed, so untouched URLs keep their exact spelling.
    query_text = parts.query if len(query) == len(pairs) else urlencode(query)
    return urlunsplit((scheme, netloc, parts.path or "/", query_text, ""))


def origin(url: str) -> str:
    """``scheme://host[:port]``: the unit of politeness (robots.txt, pacing)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def same_site(a: str, b: str) -> bool:
    """True when both URLs are on one registrable-ish host (www. ignored)."""
    def host(u: str) -> str:
        h = (urlsplit(u).hostname or "").lower()
        return h.removeprefix("www.")

    return host(a) == host(b) and urlsplit(a).port == urlsplit(b).port
