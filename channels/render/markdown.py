"""Clean HTML -> Markdown for forums (Discourse, Reddit).

Text is escaped so nothing in a title or paragraph can turn into markup on the forum
(a naughty "[x](javascript:...)" or "<script>" stays literal text), and link targets
are percent-encoded where Markdown would otherwise end them early.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag

from channels.base import Rendered

from .common import build_rendered
from .html import build_body_html, canonical_html

# Characters that may start markup anywhere in CommonMark, Discourse and Reddit's snudown.
_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]<>|~&#!^])")
# Characters that start a block only at the start of a line (lists, quotes, headings).
_LINE_START = re.compile(r"^(\s*)([-+=])", re.MULTILINE)
_LIST_NUMBER = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)  # CommonMark wants "1\."


def escape_markdown(text: str) -> str:
    text = _INLINE_SPECIALS.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    return _LIST_NUMBER.sub(r"\1\\\2", text)


def unescape_markdown(text: str) -> str:
    """The inverse of escape_markdown (used by tests and previews)."""
    return re.sub(r"\\([\\`*_\[\]<>|~&#!^\-+=.)])", r"\1", text)


def _url(url: str) -> str:
    # Spaces, parentheses and angle brackets would end or break a Markdown link target.
    return (
        (url or "")
        .strip()
        .replace(" ", "%20")
        .replace("(", "%28")
        .replace(")", "%29")
        .replace("<", "%3C")
        .replace(">", "%3E")
    )


class _Converter:
    def convert(self, html: str) -> str:
        soup = BeautifulSoup(html, "html.parser")
        out = self.blocks(soup.contents)
        out = re.sub(r"\n{3,}", "\n\n", out)
        return out.strip() + "\n"

    # --- block level ---------------------------------------------------------------
    def blocks(self, nodes, list_depth: int = 0) -> str:
        parts: list[str] = []
        inline_run: list = []

        def flush():
            if inline_run:
                text = self.inline(inline_run).strip()
                if text:
                    parts.append(text)
                inline_run.clear()

        for node in nodes:
            if isinstance(node, Tag) and node.name in _BLOCK_TAGS:
                flush()
                rendered = self.block(node, list_depth)
                if rendered.strip():
                    parts.append(rendered.rstrip("\n"))
            else:
                inline_run.append(node)
        flush()
        return "\n\n".join(parts)

    def block(self, node: Tag, depth: int) -> str:
        name = node.name
        if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            level = max(2, int(name[1]))
            return "#" * level + " " + self.inline(node.contents).strip()
        if name in ("ul", "ol"):
            lines = []
            number = 1
            for item in node.find_all("li", recursive=False):
                marker = f"{number}." if name == "ol" else "-"
                number += 1
                inner = self.blocks(item.contents, depth + 1)
                pad = " " * (len(marker) + 1)
                first, *rest = inner.split("\n") if inner else [""]
                lines.append(f"{marker} {first}")
                lines.extend(pad + line if line else "" for line in rest)
            return "\n".join(lines)
        if name == "blockquote":
            inner = self.blocks(node.contents, depth)
            return "\n".join("> " + line if line else ">" for line in inner.split("\n"))
        if name == "pre":
            code = node.get_text()
            fence = "```"
            while fence in code:
                fence += "`"
            return f"{fence}\n{code.rstrip()}\n{fence}"
        if name == "hr":
            return "---"
        if name == "figure":
            return self.blocks(node.contents, depth)
        if name == "figcaption":
            text = self.inline(node.contents).strip()
            return f"*{text}*" if text else ""
        if name == "table":
            rows = []
            for tr in node.find_all("tr"):
                cells = [self.inline(c.contents).strip() for c in tr.find_all(["td", "th"])]
                rows.append(" \\| ".join(cells))
            return "\n\n".join(r for r in rows if r)
        # p, div, li content and anything else block-like
        return (
            self.blocks(node.contents, depth)
            if _has_block_child(node)
            else self.inline(node.contents).strip()
        )

    # --- inline level ---------------------------------------------------------------
    def inline(self, nodes) -> str:
        out = []
        for node in nodes:
            if isinstance(node, NavigableString):
                if type(node) is not NavigableString:  # comments, CDATA, doctype
                    continue
                out.append(escape_markdown(re.sub(r"\s+", " ", str(node))))
                continue
            if not isinstance(node, Tag):
                continue
            name = node.name
            inner = self.inline(node.contents)
            if name in ("strong", "b"):
                out.append(f"**{inner.strip()}**" if inner.strip() else "")
            elif name in ("em", "i"):
                out.append(f"*{inner.strip()}*" if inner.strip() else "")
            elif name == "code":
                code = node.get_text()
                ticks = "`"
                while ticks in code:
                    ticks += "`"
                out.append(
                    f"{ticks} {code} {ticks}" if code.startswith("`") else f"{ticks}{code}{ticks}"
                )
            elif name == "a":
                href = node.get("href", "")
                text = inner.strip() or escape_markdown(href)
                out.append(f"[{text}]({_url(href)})" if href else text)
            elif name == "img":
                src = node.get("src", "")
                if src:
                    out.append(f"![{escape_markdown(node.get('alt', ''))}]({_url(src)})")
            elif name == "br":
                out.append("  \n")
            elif name in ("s", "del"):
                out.append(f"~~{inner.strip()}~~" if inner.strip() else "")
            elif name in _BLOCK_TAGS:
                out.append(" " + self.blocks([node]) + " ")
            else:
                out.append(inner)
        return "".join(out)


_BLOCK_TAGS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre",
    "hr", "figure", "figcaption", "table", "thead", "tbody", "tfoot", "tr", "dl", "dt", "dd",
}  # fmt: skip


def _has_block_child(node: Tag) -> bool:
    return any(isinstance(c, Tag) and c.name in _BLOCK_TAGS for c in node.contents)


def html_to_markdown(html: str) -> str:
    return _Converter().convert(html)


def render_markdown(page, publication) -> Rendered:
    """Render `page` as Markdown for a forum, with tracked links and the disclosure."""
    page = page.specific
    body_html, canonical = build_body_html(page, publication, with_canonical=False)
    footer = canonical_html(canonical, getattr(page, "language", None))
    markdown = html_to_markdown(body_html + "\n" + footer)
    return build_rendered(
        page,
        publication,
        html=body_html,
        markdown=markdown,
        text=unescape_markdown(markdown),
        canonical_url=canonical,
    )
