"""Markdown -> safe HTML, done once per save (the post stores the result).

Pipeline: Python-Markdown (extra, codehilite with Pygments, toc) then nh3 with an allow-list, so even a
hostile author cannot inject script, event handlers or javascript: URLs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import markdown
import nh3
from django.utils.html import strip_tags
from django.utils.text import slugify

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p",
    "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
}  # fmt: skip

ALLOWED_ATTRIBUTES = {
    "*": {"id", "title"},
    "a": {"href", "class"},
    "abbr": {"title"},
    "code": {"class"},
    "div": {"class"},
    "img": {"src", "alt", "width", "height"},
    "li": {"id"},
    "ol": {"start"},
    "pre": {"class"},
    "span": {"class"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
}

URL_SCHEMES = {"http", "https", "mailto"}
CODE_CSS_CLASS = "codehilite"

# Content of these tags is dropped entirely, not kept as text.
CLEAN_CONTENT_TAGS = {"script", "style", "iframe", "object", "embed", "template", "noscript", "textarea"}


def _slugify_heading(value: str, separator: str) -> str:
    """Anchors: unicode-aware, like Django's slugify; never empty."""
    return slugify(value, allow_unicode=True).replace("-", separator) or "section"


def _markdown() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=["extra", "codehilite", "toc"],
        extension_configs={
            "codehilite": {"css_class": CODE_CSS_CLASS, "guess_lang": False},
            "toc": {"slugify": _slugify_heading, "permalink": False},
        },
        output_format="html",
    )


def sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=CLEAN_CONTENT_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


@dataclass(frozen=True)
class Rendered:
    body_html: str
    toc_html: str
    text: str


_WS = re.compile(r"\s+")


def render_markdown(source: str) -> Rendered:
    md = _markdown()
    raw = md.convert(source or "")
    body = sanitize(raw)
    toc_tokens = getattr(md, "toc_tokens", [])
    toc = sanitize(md.toc) if toc_tokens else ""
    text = _WS.sub(" ", strip_tags(body)).strip()
    return Rendered(body_html=body, toc_html=toc, text=text)


def make_excerpt(text: str, length: int = 54) -> str:
    text = _WS.sub(" ", text).strip()
    if len(text) <= length:
        return text
    return text[: length - 1].rstrip() + "…"
