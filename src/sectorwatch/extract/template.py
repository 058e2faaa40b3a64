"""Learn a source's page template from its stored pages, and strip it from new ones.

Two kinds of repetition mark a block as template rather than article:

* **blocks**: the same DOM path *and* the same words on many pages (site banners, "Make an
  Enquiry", "Knowledge & Resources", footers, subscription panels);
* **containers**: the same DOM path *and* the same inner shape on many pages, holding at
  least one repeated block. A promo banner whose wording changes, or a "related stories"
  box whose teasers change, keeps its structure and its fixed words ("Read more",
  "Read Full Story"), so it goes by structure, not by wording.

An article body never repeats its words, and its shape (how many paragraphs, lists,
subheads) changes from page to page, so it survives both tests.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

from sectorwatch.extract.text import squash

MIN_PAGES = 3  # repetition on fewer pages than this proves nothing
SHARE = 0.5  # ... and it must reach this share of the sample
MAX_BLOCK_CHARS = 600  # longer blocks are article text even when quoted twice
MAX_SHAPE_NODES = 80  # larger containers are page regions, never stripped whole
_HASHY = re.compile(r"\d|^[a-z]{1,3}-[a-z0-9]{5,}$|^css-|^sc-", re.I)  # generated class names
_SKIP = frozenset({"html", "body", "head", "script", "style", "noscript", "template"})


@dataclass(frozen=True)
class Template:
    """What a source's pages share: signatures of repeated blocks and containers."""

    blocks: frozenset[str] = frozenset()
    containers: frozenset[str] = frozenset()
    pages: int = 0

    def __bool__(self) -> bool:
        return bool(self.blocks or self.containers)


def learn(pages: Iterable[str]) -> Template:
    """Learn from a sample of one source's pages (HTML text)."""
    block_counts: Counter[str] = Counter()
    container_counts: Counter[str] = Counter()
    containers_with_blocks: dict[str, list[set[str]]] = {}
    n = 0
    for html in pages:
        tree = _parse(html)
        if tree is None:
            continue
        n += 1
        blocks, containers = _signatures(tree)
        block_counts.update(blocks)
        container_counts.update(containers.keys())
        for sig, inner in containers.items():
            containers_with_blocks.setdefault(sig, []).append(inner)
    if n < MIN_PAGES:
        return Template(pages=n)
    need = max(MIN_PAGES, SHARE * n)
    common_blocks = frozenset(s for s, c in block_counts.items() if c >= need)
    common_containers = frozenset(
        s for s, c in container_counts.items()
        if c >= need and all(inner & common_blocks for inner in containers_with_blocks[s])
    )
    return Template(common_blocks, common_containers, n)


def strip(tree: etree._Element, template: Template) -> int:
    """Remove template blocks and containers from ``tree`` in place; returns how many.

    A container is kept, whatever its shape, when it holds most of the page's own text
    (the text outside repeated blocks): that is the article, even when several short
    stories share their number of paragraphs and a box inside the body."""
    if not template:
        return 0
    elements = [el for el in tree.iter() if isinstance(el.tag, str) and el.tag not in _SKIP]
    paths = {el: _path(el) for el in elements}
    blocks = {el for el in elements if _block_sig(el, paths[el]) in template.blocks}
    sizes = _text_sizes(tree, blocks)
    page_text = sizes.get(tree, 0)
    doomed: list[etree._Element] = []
    marked: set[etree._Element] = set()
    h1 = next(iter(tree.iter("h1")), None)
    for el in elements:
        if any(a in marked for a in el.iterancestors()):
            continue  # inside something already going
        repeated_shape = (el not in blocks
                          and _container_sig(el, paths[el]) in template.containers
                          and (h1 is None or not _contains(el, h1))
                          and sizes.get(el, 0) * 2 < page_text)
        if el in blocks or repeated_shape:
            doomed.append(el)
            marked.add(el)
    for el in doomed:
        el.drop_tree()
    return len(doomed)


def _text_sizes(tree: etree._Element, blocks: set[etree._Element]) -> dict:
    """{element: characters of visible text under it outside the repeated blocks}."""
    sizes: dict[etree._Element, int] = {}
    for el in reversed(list(tree.iter())):  # children before their parents, no recursion
        if not isinstance(el.tag, str) or el.tag in _SKIP - {"html", "body"}:
            continue
        sizes[el] = _chars(el.text) + sum(
            (0 if child in blocks else sizes.get(child, 0)) + _chars(child.tail)
            for child in el)
    return sizes


def _chars(text: str | None) -> int:
    return len("".join(text.split())) if text else 0


def _signatures(tree: etree._Element) -> tuple[set[str], dict[str, set[str]]]:
    """(block signatures, {container signature: block signatures inside it})."""
    paths: dict[etree._Element, tuple[str, str | None]] = {}
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag not in _SKIP:
            path = _path(el)
            paths[el] = (path, _block_sig(el, path))
    containers: dict[str, set[str]] = {}
    for el, (path, _) in paths.items():
        if sig := _container_sig(el, path):
            containers[sig] = {b for d in el.iterdescendants()
                               if (b := paths.get(d, ("", None))[1])}
    return {b for _, b in paths.values() if b}, containers


def _block_sig(el: etree._Element, path: str) -> str | None:
    text = el.text_content() if el.tag != "a" or el.get("href") is None else (
        el.text_content() + " ->")
    flat = squash(text)
    if not flat or len(text) > MAX_BLOCK_CHARS:
        return None
    return f"b {path} {hashlib.sha1(flat.encode()).hexdigest()[:16]}"


def _container_sig(el: etree._Element, path: str) -> str | None:
    if len(el) < 2:
        return None
    shape: list[str] = []
    for node in el.iterdescendants():
        if isinstance(node.tag, str):
            shape.append(node.tag)
            if len(shape) > MAX_SHAPE_NODES:
                return None
    return f"c {path} {hashlib.sha1(' '.join(shape).encode()).hexdigest()[:16]}"


def _path(el: etree._Element) -> str:
    """Tag, id and stable classes of each ancestor: no positions, so a block keeps its
    path when content above it changes."""
    parts = []
    node = el
    while node is not None and isinstance(node.tag, str) and node.tag not in ("html", "body"):
        classes = sorted(c for c in (node.get("class") or "").split() if not _HASHY.search(c))
        ident = node.get("id") or ""
        ident = "" if _HASHY.search(ident) else ident
        parts.append(node.tag + (f"#{ident}" if ident else "") + "".join(f".{c}" for c in classes))
        node = node.getparent()
    return ">".join(reversed(parts))


def _contains(ancestor: etree._Element, el: etree._Element) -> bool:
    node = el
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def _parse(html: str) -> etree._Element | None:
    try:
        return lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None
