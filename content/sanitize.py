"""One place that turns HTML from outside (pasted, imported, partner feeds) into safe HTML.

nh3 (ammonia) keeps an allow-list of tags and attributes: scripts, styles, event handler
attributes and `javascript:`/`data:` URLs never survive. Links from outside get
rel="noopener noreferrer nofollow" because we do not vouch for them.
"""

import html as html_lib

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "abbr": {"title"},
    "*": {"lang", "dir"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
URL_ATTRIBUTES = {"href", "src"}


def _drop_control_characters_in_urls(tag: str, attribute: str, value: str) -> str | None:
    """Browsers ignore some control characters inside URLs, so "java\x01script:" can be
    read differently by us and by them. No honest URL has them: drop the attribute."""
    if attribute in URL_ATTRIBUTES and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return None
    return value


def sanitize_html(html: str | None) -> str:
    """Return `html` with everything outside the allow-list removed. Never raises on
    malformed input; `None` becomes the empty string."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=_drop_control_characters_in_urls,
    )


def strip_tags(html: str | None) -> str:
    """Plain text of `html` (for excerpts, plain-text email parts, SEO analysis).
    The result is text, not markup: escape it again wherever it goes into HTML."""
    if not html:
        return ""
    return html_lib.unescape(nh3.clean(html, tags=set(), attributes={}, strip_comments=True))
