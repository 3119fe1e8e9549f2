"""HTML from outside never keeps scripts, event handlers or javascript: URLs."""

import re

import feedparser
import lxml.html
import pytest

from content.blocks import SanitisedHTMLBlock
from content.sanitize import sanitize_html, strip_tags

DANGEROUS = re.compile(
    r"<script|<style|<iframe|<object|<embed|\son\w+\s*=|javascript:|vbscript:|data:text/html", re.I
)


C0_AND_SPACE = "".join(map(chr, range(0x21)))


def assert_no_active_content(html: str, context=None):
    """Parse the cleaned markup as a browser would and look for anything executable."""
    if not html.strip():
        return
    for element in lxml.html.fragments_fromstring(f"<div>{html}</div>")[0].iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in {"script", "style", "iframe", "object", "embed", "form"}, context
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (context, name)
            assert name.lower() != "style", context
            # What a browser does before reading the scheme (WHATWG URL): strip leading
            # and trailing C0 controls and spaces, drop tabs and newlines anywhere.
            squashed = re.sub(r"[\t\n\r]", "", value.strip(C0_AND_SPACE)).lower()
            assert not squashed.startswith(("javascript:", "vbscript:", "data:")), (context, value)


@pytest.mark.parametrize(
    "html",
    [
        '<p onclick="alert(1)">hi</p>',
        "<script>alert(1)</script><p>ok</p>",
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" JaVaScRiPt:alert(1)">x</a>',
        '<a href="&#106;avascript:alert(1)">x</a>',
        '<img src=x onerror="alert(1)">',
        "<svg><script>alert(1)</script></svg>",
        '<iframe src="https://evil.example"></iframe>',
        '<div style="background:url(javascript:alert(1))">x</div>',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    ],
)
def test_dangerous_markup_is_removed(html):
    cleaned = sanitize_html(html)
    assert not DANGEROUS.search(cleaned), cleaned
    assert_no_active_content(cleaned, html)


def test_safe_markup_is_kept_and_links_get_rel():
    cleaned = sanitize_html(
        '<p>Hello <strong>world</strong> <a href="https://example.com/x">link</a></p>'
    )
    assert "<strong>world</strong>" in cleaned
    assert 'href="https://example.com/x"' in cleaned
    assert 'rel="noopener noreferrer nofollow"' in cleaned


def test_sanitised_block_cleans_on_save_and_render():
    block = SanitisedHTMLBlock()
    assert "<script" not in block.get_prep_value("<p>x</p><script>alert(1)</script>")
    assert "onload" not in str(block.render('<body onload="x()"><p>x</p></body>'))


def test_feedparser_sanitize_corpus_never_leaves_script(corpora):
    files = sorted((corpora / "feedparser" / "wellformed" / "sanitize").glob("*.xml"))
    assert len(files) > 500, "expected the feedparser sanitize corpus"
    checked = 0
    for path in files:
        # feedparser's own sanitiser is switched off: ours must do the whole job.
        feed = feedparser.parse(path.read_bytes(), sanitize_html=False)
        for entry in feed.entries:
            fragments = [c.get("value", "") for c in entry.get("content", [])]
            fragments += [entry.get("summary", ""), entry.get("title", "")]
            for fragment in fragments:
                assert_no_active_content(sanitize_html(fragment), path.name)
                checked += 1
    assert checked > 500


def test_naughty_strings_survive_as_text(naughty_strings):
    for s in naughty_strings:
        cleaned = sanitize_html(s)
        assert_no_active_content(cleaned, s)
        # Plain text keeps its words: nothing is lost but markup.
        text = strip_tags(s)
        if "<" not in s and "&" not in s:
            assert [c for c in text if c.isalnum()] == [c for c in s if c.isalnum()], s
