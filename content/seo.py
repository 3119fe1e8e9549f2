"""SEO analysis of a content page for its focus keyphrase.

`analyse(...)` scores plain inputs from 0 to 100 and returns concrete hints;
`analyse_page(page)` extracts those inputs from a page, and `store_page_analysis` keeps
one result per revision (analytics.SeoAnalysis) so dashboards can show the trend.

Language-aware: Chinese text is segmented with jieba and measured in characters, with
Baidu's guidance (title ~30 characters, description ~80); Latin text uses Google's
(~60 and ~155). Keyphrase density is counted per token, and for Chinese also per
character. Readability is Flesch reading ease for English and sentence / paragraph
length in characters for Chinese (there is no Flesch for Chinese).
"""

import html as html_lib
import re
from dataclasses import asdict, dataclass, field

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.panels import Panel

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WORD_RE = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:['’][A-Za-z]+)?")
SENTENCE_END_EN = re.compile(r"[.!?]+(?:\s+|$)")
SENTENCE_END_ZH = re.compile(r"[。！？!?；;]+")

# Length guidance per language: (min, max) characters.
LIMITS = {
    "en": {"title": (30, 60), "description": (120, 155), "min_text": 300},
    "zh": {"title": (10, 30), "description": (40, 80), "min_text": 600},
}
LEVEL_PROBLEM = "problem"
LEVEL_IMPROVE = "improvement"
LEVEL_GOOD = "good"


@dataclass
class Hint:
    code: str
    level: str
    message: str


@dataclass
class SeoResult:
    score: int
    language: str
    keyphrase: str
    hints: list[Hint] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def problems(self) -> list[Hint]:
        order = {LEVEL_PROBLEM: 0, LEVEL_IMPROVE: 1, LEVEL_GOOD: 2}
        return sorted(
            (h for h in self.hints if h.level != LEVEL_GOOD), key=lambda h: order[h.level]
        )

    def hints_as_dicts(self) -> list[dict]:
        return [asdict(h) for h in self.hints]


def is_chinese(language: str, text: str = "") -> bool:
    if language:
        return language.lower().startswith("zh")
    cjk = len(CJK_RE.findall(text))
    return cjk > 0.2 * max(1, len(text.strip()))


def tokens(text: str, chinese: bool) -> list[str]:
    """Words of `text`: jieba's segmentation for Chinese, letter runs otherwise."""
    if chinese:
        import jieba

        return [t.strip().lower() for t in jieba.lcut(text) if t.strip() and not _is_punct(t)]
    return [w.lower() for w in WORD_RE.findall(text)]


def _is_punct(token: str) -> bool:
    return all(not ch.isalnum() for ch in token)


def count_phrase(haystack: list[str], phrase: list[str]) -> int:
    if not phrase:
        return 0
    n = len(phrase)
    return sum(1 for i in range(len(haystack) - n + 1) if haystack[i : i + n] == phrase)


def contains_phrase(text: str, keyphrase: str, chinese: bool) -> bool:
    if not keyphrase or not text:
        return False
    if chinese:
        # Character containment: segmentation of a short title can split a phrase
        # differently from the body, and Chinese has no inflection to match around.
        return keyphrase.replace(" ", "") in text.replace(" ", "")
    return count_phrase(tokens(text, False), tokens(keyphrase, False)) > 0


def syllables(word: str) -> int:
    word = word.lower()
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(1, count)


def flesch_reading_ease(text: str) -> float | None:
    words = WORD_RE.findall(text)
    sentences = [s for s in SENTENCE_END_EN.split(text) if WORD_RE.search(s)]
    if len(words) < 20 or not sentences:
        return None
    syl = sum(syllables(w) for w in words)
    return 206.835 - 1.015 * (len(words) / len(sentences)) - 84.6 * (syl / len(words))


def analyse(
    *,
    keyphrase: str,
    language: str,
    title: str,
    description: str,
    slug: str,
    text: str,
    first_paragraph: str = "",
    headings: list[str] | None = None,
    image_alts: list[str] | None = None,
    internal_links: int = 0,
    external_links: int = 0,
) -> SeoResult:
    """Score from 0 to 100 plus hints. Every check has a weight; a check earns all of
    it (good), half (improvement) or nothing (problem)."""
    keyphrase = (keyphrase or "").strip()
    chinese = is_chinese(language, text or title)
    lang = "zh" if chinese else "en"
    limits = LIMITS[lang]
    headings = headings or []
    image_alts = image_alts or []
    hints: list[Hint] = []
    earned = possible = 0.0

    def check(code, weight, level, message):
        nonlocal earned, possible
        possible += weight
        earned += {LEVEL_GOOD: 1.0, LEVEL_IMPROVE: 0.5, LEVEL_PROBLEM: 0.0}[level] * weight
        hints.append(Hint(code, level, str(message)))

    # Title length (characters for both: Chinese characters are what Baidu counts).
    low, high = limits["title"]
    length = len(title.strip())
    if length == 0:
        check("title_length", 10, LEVEL_PROBLEM, _("The SEO title is empty."))
    elif length > high:
        check(
            "title_length",
            10,
            LEVEL_IMPROVE if length <= high * 1.2 else LEVEL_PROBLEM,
            _(
                "The SEO title has %(n)d characters; keep it within about %(max)d so it is not cut off."
            )
            % {"n": length, "max": high},
        )
    elif length < low:
        check(
            "title_length",
            10,
            LEVEL_IMPROVE,
            _("The SEO title has only %(n)d characters; use up to about %(max)d.")
            % {"n": length, "max": high},
        )
    else:
        check("title_length", 10, LEVEL_GOOD, _("The SEO title length is good."))

    # Meta description.
    low, high = limits["description"]
    length = len(description.strip())
    if length == 0:
        check(
            "description_length",
            10,
            LEVEL_PROBLEM,
            _("No meta description: write one of about %(max)d characters.") % {"max": high},
        )
    elif length > high:
        check(
            "description_length",
            10,
            LEVEL_IMPROVE,
            _("The meta description has %(n)d characters; search engines show about %(max)d.")
            % {"n": length, "max": high},
        )
    elif length < low:
        check(
            "description_length",
            10,
            LEVEL_IMPROVE,
            _("The meta description has only %(n)d characters; aim for %(min)d-%(max)d.")
            % {"n": length, "min": low, "max": high},
        )
    else:
        check("description_length", 10, LEVEL_GOOD, _("The meta description length is good."))

    # Text length.
    body_tokens = tokens(text, chinese)
    text_size = len(CJK_RE.findall(text)) if chinese else len(body_tokens)
    if text_size < limits["min_text"]:
        unit = _("characters") if chinese else _("words")
        check(
            "text_length",
            8,
            LEVEL_IMPROVE if text_size >= limits["min_text"] / 2 else LEVEL_PROBLEM,
            _("The text has %(n)d %(unit)s; at least %(min)d is recommended.")
            % {"n": text_size, "unit": unit, "min": limits["min_text"]},
        )
    else:
        check("text_length", 8, LEVEL_GOOD, _("The text is long enough."))

    stats = {"language": lang, "text_size": text_size, "tokens": len(body_tokens)}

    if not keyphrase:
        check(
            "keyphrase_missing",
            30,
            LEVEL_PROBLEM,
            _("Set a focus keyphrase so the page can be checked for it."),
        )
    else:
        phrase_tokens = tokens(keyphrase, chinese)
        for code, weight, haystack, good, missing in [
            (
                "keyphrase_title",
                10,
                title,
                _("The keyphrase appears in the SEO title."),
                _("Put the keyphrase in the SEO title, preferably at the start."),
            ),
            (
                "keyphrase_description",
                6,
                description,
                _("The keyphrase appears in the meta description."),
                _("Use the keyphrase in the meta description."),
            ),
            (
                "keyphrase_first_paragraph",
                8,
                first_paragraph or text[:400],
                _("The keyphrase appears in the first paragraph."),
                _("Use the keyphrase in the first paragraph."),
            ),
            (
                "keyphrase_heading",
                6,
                " \n".join(headings),
                _("The keyphrase appears in a subheading."),
                _("Use the keyphrase in at least one subheading."),
            ),
        ]:
            if contains_phrase(haystack, keyphrase, chinese):
                check(code, weight, LEVEL_GOOD, good)
            else:
                check(
                    code,
                    weight,
                    LEVEL_PROBLEM if code == "keyphrase_title" else LEVEL_IMPROVE,
                    missing,
                )

        # Slug: Latin keyphrases belong in the slug; Chinese slugs should stay short ASCII
        # (percent-encoded Chinese URLs are long and unreadable when shared).
        if chinese:
            if slug and slug.isascii() and len(slug) <= 60:
                check("slug", 4, LEVEL_GOOD, _("The slug is short and readable."))
            else:
                check(
                    "slug",
                    4,
                    LEVEL_IMPROVE,
                    _("Use a short ASCII slug (pinyin or English) instead of Chinese characters."),
                )
        elif slugify(keyphrase) and slugify(keyphrase) in slug:
            check("slug", 4, LEVEL_GOOD, _("The slug contains the keyphrase."))
        else:
            check(
                "slug",
                4,
                LEVEL_IMPROVE,
                _("Put the keyphrase in the slug, e.g. “%(slug)s”.") % {"slug": slugify(keyphrase)},
            )

        # Density.
        occurrences = count_phrase(body_tokens, phrase_tokens)
        if chinese and occurrences == 0:
            occurrences = text.count(keyphrase.replace(" ", ""))
        token_density = 100.0 * occurrences / max(1, len(body_tokens))
        stats.update({"occurrences": occurrences, "density_tokens": round(token_density, 2)})
        density = token_density
        low, high = 0.5, 3.0
        if chinese:
            phrase_chars = len(CJK_RE.findall(keyphrase))
            char_density = 100.0 * occurrences * phrase_chars / max(1, text_size)
            stats["density_characters"] = round(char_density, 2)
            density, low, high = char_density, 1.0, 5.0
        if occurrences == 0:
            check("density", 8, LEVEL_PROBLEM, _("The keyphrase does not appear in the text."))
        elif density < low:
            check(
                "density",
                8,
                LEVEL_IMPROVE,
                _("Keyphrase density is %(d).1f%%; aim for %(low).1f-%(high).1f%%.")
                % {"d": density, "low": low, "high": high},
            )
        elif density > high:
            check(
                "density",
                8,
                LEVEL_PROBLEM,
                _(
                    "Keyphrase density is %(d).1f%%: that reads as keyword stuffing (above %(high).1f%%)."
                )
                % {"d": density, "high": high},
            )
        else:
            check(
                "density",
                8,
                LEVEL_GOOD,
                _("Keyphrase density is %(d).1f%%.") % {"d": density},
            )

        # Image alt text.
        if image_alts:
            if not all(a.strip() for a in image_alts):
                check("image_alt", 5, LEVEL_PROBLEM, _("Some images have no alternative text."))
            elif any(contains_phrase(a, keyphrase, chinese) for a in image_alts):
                check(
                    "image_alt", 5, LEVEL_GOOD, _("An image's alternative text has the keyphrase.")
                )
            else:
                check(
                    "image_alt",
                    5,
                    LEVEL_IMPROVE,
                    _("Use the keyphrase in the alternative text of at least one image."),
                )
        else:
            check("image_alt", 5, LEVEL_IMPROVE, _("Add an image with alternative text."))

    # Links.
    check(
        "internal_links",
        4,
        LEVEL_GOOD if internal_links else LEVEL_IMPROVE,
        _("The page links to other hub pages.")
        if internal_links
        else _("Link to at least one related page on the hub."),
    )
    check(
        "external_links",
        3,
        LEVEL_GOOD if external_links else LEVEL_IMPROVE,
        _("The page links to outside sources.")
        if external_links
        else _("Link to at least one useful outside source."),
    )

    # Readability.
    if chinese:
        sentences = [s for s in SENTENCE_END_ZH.split(text) if CJK_RE.search(s)]
        avg = sum(len(CJK_RE.findall(s)) for s in sentences) / max(1, len(sentences))
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        longest = max((len(CJK_RE.findall(p)) for p in paragraphs), default=0)
        stats.update({"avg_sentence_chars": round(avg, 1), "longest_paragraph_chars": longest})
        if not sentences:
            pass
        elif avg > 60:
            check(
                "readability",
                8,
                LEVEL_PROBLEM,
                _("Sentences average %(n)d characters; split them (aim for under 40).")
                % {"n": avg},
            )
        elif avg > 40 or longest > 250:
            check(
                "readability",
                8,
                LEVEL_IMPROVE,
                _(
                    "Sentences average %(n)d characters and the longest paragraph has %(p)d; "
                    "shorter sentences (under 40) and paragraphs (under 250) read better on phones."
                )
                % {"n": avg, "p": longest},
            )
        else:
            check("readability", 8, LEVEL_GOOD, _("Sentences and paragraphs are easy to read."))
    else:
        score = flesch_reading_ease(text)
        if score is not None:
            stats["flesch_reading_ease"] = round(score, 1)
            if score < 30:
                check(
                    "readability",
                    8,
                    LEVEL_PROBLEM,
                    _(
                        "Flesch reading ease is %(s).0f (very difficult); use shorter sentences and words."
                    )
                    % {"s": score},
                )
            elif score < 50:
                check(
                    "readability",
                    8,
                    LEVEL_IMPROVE,
                    _("Flesch reading ease is %(s).0f (fairly difficult); aim for 60 or more.")
                    % {"s": score},
                )
            else:
                check(
                    "readability",
                    8,
                    LEVEL_GOOD,
                    _("Flesch reading ease is %(s).0f: easy enough to read.") % {"s": score},
                )

    score = round(100 * earned / possible) if possible else 0
    return SeoResult(score=int(score), language=lang, keyphrase=keyphrase, hints=hints, stats=stats)


# --- Pages -------------------------------------------------------------------------------

_HREF_RE = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")


def _strip(html: str) -> str:
    return html_lib.unescape(_TAG_RE.sub(" ", html or "")).strip()


def page_inputs(page) -> dict:
    """The inputs of `analyse` for a content page (any SeoFieldsMixin page)."""
    headings, images, hrefs, paragraphs = [], [], [], []
    for stream_name in ("body",):
        stream = getattr(page, stream_name, None) or []
        for block in stream:
            value = block.value
            if block.block_type == "heading":
                headings.append(value["text"])
            elif block.block_type == "paragraph":
                source = getattr(value, "source", str(value))
                hrefs.extend(_HREF_RE.findall(source))
                headings.extend(
                    _strip(h) for h in re.findall(r"<h[2-4][^>]*>(.*?)</h[2-4]>", source)
                )
                paragraphs.append(_strip(source))
            elif block.block_type == "image":
                images.append(value.get("alt_text") or "")
            elif block.block_type in ("call_to_action", "button"):
                hrefs.append(value.get("url") or "")
            elif block.block_type == "html":
                hrefs.extend(_HREF_RE.findall(str(value)))
    for rich in ("editorial", "description", "intro"):
        source = getattr(page, rich, "") or ""
        if isinstance(source, str) and source:
            hrefs.extend(_HREF_RE.findall(source))
            paragraphs.insert(0, _strip(source))
    from django.conf import settings

    own = settings.SITE_BASE_URL.rstrip("/")
    internal = sum(
        1 for h in hrefs if h.startswith("/") and not h.startswith("//") or h.startswith(own)
    )
    internal += sum(1 for h in hrefs if h.startswith("linktype") or "data-linktype" in h)
    external = sum(
        1 for h in hrefs if h.startswith(("http://", "https://")) and not h.startswith(own)
    )
    try:
        text = page.get_plain_text()
    except Exception:  # noqa: BLE001 - a half-filled editor form must still be analysed
        text = "\n\n".join(paragraphs)
    title = page.seo_title or page.title or ""
    description = page.search_description or ""
    return {
        "keyphrase": getattr(page, "focus_keyphrase", "") or "",
        "language": getattr(page, "language", "") or "",
        "title": title,
        "description": description,
        "slug": page.slug or "",
        "text": text or "",
        "first_paragraph": next((p for p in paragraphs if p), ""),
        "headings": headings,
        "image_alts": images,
        "internal_links": internal,
        "external_links": external,
    }


def analyse_page(page) -> SeoResult:
    return analyse(**page_inputs(page))


def store_page_analysis(page, revision=None):
    """Analyse `page` and store the result for `revision` (default: its latest).
    Idempotent per revision: analysing the same revision again updates its row."""
    from analytics.models import SeoAnalysis

    result = analyse_page(page)
    revision = revision or getattr(page, "latest_revision", None)
    defaults = {
        "page_id": page.pk,
        "keyphrase": result.keyphrase[:100],
        "language": result.language,
        "score": result.score,
        "hints": result.hints_as_dicts(),
    }
    if revision is None:
        return SeoAnalysis.objects.create(**defaults)
    analysis, _ = SeoAnalysis.objects.update_or_create(revision=revision, defaults=defaults)
    return analysis


# --- Editor panel ------------------------------------------------------------------------

_LEVEL_LABELS = {
    LEVEL_PROBLEM: gettext_lazy("Problem"),
    LEVEL_IMPROVE: gettext_lazy("Improve"),
    LEVEL_GOOD: gettext_lazy("Good"),
}
_LEVEL_COLOURS = {LEVEL_PROBLEM: "#b91c1c", LEVEL_IMPROVE: "#a16207", LEVEL_GOOD: "#15803d"}


class SeoAnalysisPanel(Panel):
    """Read-only panel with the score and hints of the page as last saved."""

    class BoundPanel(Panel.BoundPanel):
        def render_html(self, parent_context=None):
            page = self.instance
            if page is None or not page.pk:
                return format_html("<p>{}</p>", _("Save the page to see its SEO analysis."))
            result = analyse_page(page)
            hints = sorted(
                result.hints,
                key=lambda h: {LEVEL_PROBLEM: 0, LEVEL_IMPROVE: 1, LEVEL_GOOD: 2}[h.level],
            )
            rows = format_html_join(
                "",
                '<li><strong style="color:{}">{}</strong> {}</li>',
                ((_LEVEL_COLOURS[h.level], _LEVEL_LABELS[h.level], h.message) for h in hints),
            )
            return format_html(
                '<div class="seo-analysis" data-seo-score="{}"><p><strong>{}</strong> {}/100 '
                "({})</p><ul>{}</ul></div>",
                result.score,
                _("SEO score:"),
                result.score,
                _("Chinese, measured in characters") if result.language == "zh" else _("English"),
                mark_safe(rows),  # noqa: S308 - built by format_html_join above
            )
