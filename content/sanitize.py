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
    )


def strip_tags(html: str | None) -> str:
    """Plain text of `html` (for excerpts, plain-text email parts, SEO analysis).
    The result is text, not markup: escape it again wherever it goes into HTML."""
    if not html:
        return ""
    return html_lib.unescape(nh3.clean(html, tags=set(), attributes={}, strip_comments=True))
