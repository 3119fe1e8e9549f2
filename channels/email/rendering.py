"""Render an issue ONCE (template, tracked links, premailer), then merge per recipient.

The expensive steps (template, link rewriting, CSS inlining) run once per issue. What
varies per recipient is spliced into a precompiled list of static chunks, so a merge is
a dict lookup per field and one "".join: cheap enough for thousands per second.

Merge fields: {{ name }}, {{ email }} in the content; [[unsubscribe_url]],
[[preferences_url]], [[open_pixel_url]] in the footer; and every tracked link gets
`?m=<message token>` so a click is attributed to the one message it came from.
Previews and test sends drop the open pixel's whole tag (`without_open_pixel`): they
must neither request a pixel URL nor carry an empty `<img src="">`.
"""

from __future__ import annotations

import html as html_lib
import logging
import re

import lxml.html
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from premailer import Premailer

from analytics.links import rewrite_links
from channels.base import Rendered
from content.disclosure import disclosure_text, labelled_subject

MERGE_FIELDS_RE = (
    r"\{\{\s*(?P<content>name|first_name|email)\s*\}\}"
    r"|\[\[(?P<footer>unsubscribe_url|preferences_url|open_pixel_url)\]\]"
)
TRACKED_RE = r"|(?P<tracked>PREFIX[A-Za-z0-9_\-]+)(?=[\"'\s)<>\]])"
# The open pixel's tag as premailer writes it (its attributes in any order).
OPEN_PIXEL_RE = re.compile(r"<img\b[^>]*\bsrc=[\"']\[\[open_pixel_url\]\][\"'][^>]*>\n?")
DOCTYPE_RE = re.compile(r"\A\s*(<!doctype\b[^>]*>)", re.IGNORECASE)


def tracked_prefix() -> str:
    return f"{settings.SITE_BASE_URL.rstrip('/')}/t/"


def _merge_re():
    tracked = TRACKED_RE.replace("PREFIX", re.escape(tracked_prefix()))
    return re.compile(MERGE_FIELDS_RE + tracked)


def page_parts(page) -> dict:
    """What the email template needs from any issue-like page."""
    page = page.specific
    return {
        "title": page.title,
        "subject": getattr(page, "subject", "") or page.title,
        "preheader": getattr(page, "preheader", ""),
        "language": getattr(page, "language", "en") or "en",
        "editorial": getattr(page, "editorial", ""),
        "body": getattr(page, "body", []),
        "disclosure": disclosure_text(page),
        # A page type with more to show in the email (a survey's answer links) names
        # the template that draws it below the body, with `page` in its context.
        "email_template": getattr(page, "email_template", ""),
    }


def render_issue(
    page, publication, *, postal_address: str = "", channel: str = "email"
) -> Rendered:
    """Render `page` for the inbox: template, tracked links, CSS inlined (network off).
    The result still carries the merge markers; see CompiledMerge. A sponsored page's
    subject opens with its disclosure's prefix (the inbox shows the subject before any
    of the message), and its message with the disclosure."""
    parts = page_parts(page)
    subject = (publication.email_subject if publication else "") or parts["subject"]
    subject = labelled_subject(subject, page.specific)
    preheader = (publication.email_preheader if publication else "") or parts["preheader"]
    try:
        web_url = page.specific.get_full_url()
    except Exception:  # noqa: BLE001 - a page outside any site has no web version
        web_url = ""
    with translation.override(parts["language"]):
        raw = render_to_string(
            "email_channel/issue.html",
            {
                **parts,
                "subject": subject,
                "preheader": preheader,
                "postal_address": postal_address,
                "web_url": web_url,
                "page": page.specific,
            },
        )
    campaign = publication.campaign if publication else None
    raw = rewrite_links(
        raw,
        publication=publication,
        campaign=campaign,
        page=page,
        channel=channel,
        medium="email",
    )
    inlined = inline_css(raw)
    return Rendered(
        title=parts["title"],
        subject=subject,
        preheader=preheader,
        html=inlined,
        text=html_to_text(inlined),
    )


def inline_css(html: str) -> str:
    """premailer with network access off: an issue can never make us fetch a URL.
    The doctype is kept: premailer keeps only an upper-case one, and without one
    clients render the issue in quirks mode (Outlook.com and Gmail's web client
    collapse table spacing and line heights differently)."""
    result = Premailer(
        html,
        allow_network=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        remove_classes=False,
        strip_important=False,
    ).transform()
    doctype = DOCTYPE_RE.match(html)
    if doctype and not DOCTYPE_RE.match(result):
        result = f"{doctype.group(1)}\n{result}"
    return wrap_long_lines(result)


def without_open_pixel(html: str) -> str:
    """The issue without its open-pixel tag: what previews and test sends show (no
    opens to count, and no request for a placeholder or an empty URL)."""
    return OPEN_PIXEL_RE.sub("", html)


def wrap_long_lines(html: str, limit: int = 900) -> str:
    """SMTP lines must stay under 998 octets; break long lines between tags."""
    out = []
    for line in html.splitlines():
        while len(line) > limit:
            cut = line.rfind("><", 0, limit)
            if cut <= 0:
                cut = line.rfind(" ", 0, limit)
            if cut <= 0:
                break
            out.append(line[: cut + 1])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out)


_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "table", "br", "hr"}


def html_to_text(html: str) -> str:
    """Readable plain text of an email: paragraphs kept, links as 'text (url)'."""
    if not html.strip():
        return ""
    doc = lxml.html.fromstring(html)
    for bad in doc.xpath("//style|//script|//head|//title|//img"):
        bad.drop_tree()
    for el in doc.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' preheader ')]"):
        el.drop_tree()
    for a in doc.xpath("//a[@href]"):
        href = a.get("href")
        label = a.text_content().strip()
        a.tail = f" ({href})" + (a.tail or "") if label and label != href else (a.tail or "")
        if not label:
            a.text = href
    for el in doc.iter():
        if isinstance(el.tag, str) and el.tag in _BLOCK_TAGS:
            el.tail = "\n\n" + (el.tail or "")
    text = doc.text_content()
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


class CompiledMerge:
    """Static chunks and merge keys, alternating: merging is a join."""

    __slots__ = ("chunks", "keys")

    def __init__(self, template: str, *, escape: bool):
        self.chunks: list[str] = []
        self.keys: list[tuple[str, str]] = []
        pos = 0
        for match in _merge_re().finditer(template):
            self.chunks.append(template[pos : match.start()])
            if match.group("content"):
                key = match.group("content")
                self.keys.append(("html" if escape else "text", key))
            elif match.group("footer"):
                self.keys.append(("raw", match.group("footer")))
            else:
                self.keys.append(("tracked", match.group("tracked")))
            pos = match.end()
        self.chunks.append(template[pos:])

    def merge(self, values: dict) -> str:
        """`values`: name, email, unsubscribe_url, preferences_url, open_pixel_url, m."""
        out = [self.chunks[0]]
        for value, chunk in zip(self.values_for(values), self.chunks[1:], strict=True):
            out.append(value)
            out.append(chunk)
        return "".join(out)

    def values_for(self, values: dict) -> list[str]:
        """The text that goes between the chunks, one per key, for these values."""
        m = values.get("m", "")
        escaped = values.get("_escaped")
        if escaped is None:
            escaped = values["_escaped"] = {
                k: html_lib.escape(str(values.get(k, "")), quote=True)
                for k in ("name", "first_name", "email")
            }
        out = []
        for kind, key in self.keys:
            if kind == "tracked":
                out.append(f"{key}?m={m}" if m else key)
            elif kind == "html":
                out.append(escaped[key])
            elif kind == "raw":
                out.append(values.get(key, ""))
            else:
                out.append(str(values.get(key, "")))
        return out
