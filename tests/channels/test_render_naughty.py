"""Renderers against the Big List of Naughty Strings in titles and bodies: the output is
valid, nothing is injected, and nothing is lost."""

import html as html_lib
import re
import unicodedata

import pytest
from bs4 import BeautifulSoup

from channels.render import render_html, render_markdown
from channels.render.markdown import unescape_markdown

pytestmark = pytest.mark.django_db

# What the HTML allow-list legitimately drops: control characters are not text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def normalise(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.fixture
def naughty(naughty_strings):
    strings = [s for s in naughty_strings if s.strip()]
    assert len(strings) > 400, "naughty strings list incomplete"
    return strings


def _assert_nothing_injected(html: str):
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find(["script", "iframe", "object", "embed", "style", "svg", "img", "form"]) is None
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            assert not attr.lower().startswith("on"), (tag, attr)
            if attr in ("href", "src"):
                assert re.match(r"^https?://", value), value


def test_naughty_titles_and_bodies(make_publication, naughty):
    publication = make_publication(
        "forum/discourse", settings={"base_url": "https://f.example.com"}
    )
    page = publication.page.specific
    failures = []
    for s in naughty:
        page.title = s
        page.body = [
            ("heading", {"text": s, "level": "h2"}),
            ("paragraph", f"<p>{html_lib.escape(s)}</p>"),
            ("quote", {"text": s, "attribution": ""}),
        ]
        try:
            rendered_html = render_html(page, publication)
            rendered_md = render_markdown(page, publication)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures.append((s, f"raised {exc!r}"))
            continue
        expected = normalise(s)
        if rendered_html.title != s.strip() or rendered_md.title != s.strip():
            failures.append((s, "title changed"))
        _assert_nothing_injected(rendered_html.html)
        soup = BeautifulSoup(rendered_html.html, "html.parser")
        for tag in ("h2", "p", "blockquote"):
            node = soup.find(tag) if tag != "p" else soup.find_all("p")[0]
            if expected and expected not in normalise(node.get_text()):
                failures.append((s, f"lost in HTML <{tag}>"))
        # Markdown: the text survives escaping, and no HTML or link markup got through.
        md = rendered_md.markdown
        if (
            expected
            and md.count(expected) == 0
            and normalise(unescape_markdown(md)).count(expected) < 3
        ):
            failures.append((s, "lost in Markdown"))
        without_escapes = re.sub(r"\\.", "", md)
        assert "<script" not in without_escapes.lower()
        assert re.search(r"\]\((?!https?://)", without_escapes) is None, md
    assert failures == [], failures[:10]
