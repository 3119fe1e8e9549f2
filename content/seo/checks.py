"""The checks of an SEO analysis, one function per check (or per group of checks that
read the same thing). Each takes the measured inputs and returns its Findings; `analyse`
(content.seo.analysis) runs them in order and adds up the score.

Checks return codes and figures, never words: content.seo.messages turns them into the
reader's language when they are shown.

Length guidance follows Baidu for Chinese (title ~30 characters, description ~80,
measured in characters) and Google for Latin text (~60 and ~155).
"""

from dataclasses import dataclass

from django.utils.text import slugify

from .language import (
    CJK_RE,
    SENTENCE_END_ZH,
    contains_phrase,
    count_phrase,
    flesch_reading_ease,
    is_chinese,
    tokens,
)
from .result import LEVEL_GOOD, LEVEL_IMPROVE, LEVEL_PROBLEM, Finding, Findings, Hint

# Length guidance per language: (min, max) characters.
LIMITS = {
    "en": {"title": (30, 60), "description": (120, 155), "min_text": 300},
    "zh": {"title": (10, 30), "description": (40, 80), "min_text": 600},
}
# Each check's weight in the score.
WEIGHTS = {
    "title_length": 10,
    "description_length": 10,
    "text_length": 8,
    "keyphrase_missing": 30,
    "keyphrase_title": 10,
    "keyphrase_description": 6,
    "keyphrase_first_paragraph": 8,
    "keyphrase_heading": 6,
    "slug": 4,
    "density": 8,
    "image_alt": 5,
    "internal_links": 4,
    "external_links": 3,
    "readability": 8,
}


@dataclass(frozen=True)
class SeoInputs:
    """What the checks read: the page's parts, with the text measured once."""

    keyphrase: str
    chinese: bool
    title: str
    description: str
    slug: str
    text: str
    first_paragraph: str
    headings: list[str]
    image_alts: list[str]
    internal_links: int
    external_links: int
    body_tokens: list[str]
    text_size: int  # characters of Chinese text, words of Latin text

    @property
    def language(self) -> str:
        return "zh" if self.chinese else "en"

    @property
    def limits(self) -> dict:
        return LIMITS[self.language]


def measure(
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
) -> SeoInputs:
    """The checks' inputs from the page's parts: the language decided (from `language`,
    else from the share of Chinese characters) and the text measured once."""
    chinese = is_chinese(language, text or title)
    body_tokens = tokens(text, chinese)
    return SeoInputs(
        keyphrase=(keyphrase or "").strip(),
        chinese=chinese,
        title=title,
        description=description,
        slug=slug,
        text=text,
        first_paragraph=first_paragraph,
        headings=headings or [],
        image_alts=image_alts or [],
        internal_links=internal_links,
        external_links=external_links,
        body_tokens=body_tokens,
        text_size=len(CJK_RE.findall(text)) if chinese else len(body_tokens),
    )


def found(check: str, code: str, level: str, **params) -> Findings:
    """Findings of one hint of `check` (weighted as the check): `code` names what was
    found ("<check>.<what>"), `params` the figures its message shows."""
    return Findings([Finding(Hint(check, f"{check}.{code}", level, params), WEIGHTS[check])])


def check_title_length(page: SeoInputs) -> Findings:
    # Characters for both languages: Chinese characters are what Baidu counts.
    low, high = page.limits["title"]
    length = len(page.title.strip())
    if length == 0:
        return found("title_length", "empty", LEVEL_PROBLEM)
    if length > high:
        level = LEVEL_IMPROVE if length <= high * 1.2 else LEVEL_PROBLEM
        return found("title_length", "too_long", level, n=length, max=high)
    if length < low:
        return found("title_length", "too_short", LEVEL_IMPROVE, n=length, max=high)
    return found("title_length", "good", LEVEL_GOOD)


def check_description_length(page: SeoInputs) -> Findings:
    low, high = page.limits["description"]
    length = len(page.description.strip())
    if length == 0:
        return found("description_length", "missing", LEVEL_PROBLEM, max=high)
    if length > high:
        return found("description_length", "too_long", LEVEL_IMPROVE, n=length, max=high)
    if length < low:
        return found("description_length", "too_short", LEVEL_IMPROVE, n=length, min=low, max=high)
    return found("description_length", "good", LEVEL_GOOD)


def check_text_length(page: SeoInputs) -> Findings:
    minimum = page.limits["min_text"]
    if page.text_size >= minimum:
        return found("text_length", "good", LEVEL_GOOD)
    return found(
        "text_length",
        "short_characters" if page.chinese else "short_words",
        LEVEL_IMPROVE if page.text_size >= minimum / 2 else LEVEL_PROBLEM,
        n=page.text_size,
        min=minimum,
    )


def check_keyphrase_set(page: SeoInputs) -> Findings:
    """Without a keyphrase, the keyphrase checks cannot run: this one stands in for them."""
    if page.keyphrase:
        return Findings()
    return found("keyphrase_missing", "unset", LEVEL_PROBLEM)


def check_keyphrase_placement(page: SeoInputs) -> Findings:
    """The keyphrase in the title (a problem when missing), the description, the first
    paragraph and a subheading (improvements)."""
    places = [
        ("keyphrase_title", page.title),
        ("keyphrase_description", page.description),
        ("keyphrase_first_paragraph", page.first_paragraph or page.text[:400]),
        ("keyphrase_heading", " \n".join(page.headings)),
    ]
    findings = Findings()
    for check, haystack in places:
        if contains_phrase(haystack, page.keyphrase, page.chinese):
            findings.items += found(check, "found", LEVEL_GOOD, keyphrase=page.keyphrase).items
        else:
            level = LEVEL_PROBLEM if check == "keyphrase_title" else LEVEL_IMPROVE
            findings.items += found(check, "missing", level, keyphrase=page.keyphrase).items
    return findings


def check_slug(page: SeoInputs) -> Findings:
    """Latin keyphrases belong in the slug; Chinese slugs should stay short ASCII
    (percent-encoded Chinese URLs are long and unreadable when shared)."""
    if page.chinese:
        if page.slug and page.slug.isascii() and len(page.slug) <= 60:
            return found("slug", "short_ascii", LEVEL_GOOD)
        return found("slug", "not_ascii", LEVEL_IMPROVE)
    wanted = slugify(page.keyphrase)
    if wanted and wanted in page.slug:
        return found("slug", "has_keyphrase", LEVEL_GOOD)
    return found("slug", "missing_keyphrase", LEVEL_IMPROVE, slug=wanted)


def check_density(page: SeoInputs) -> Findings:
    """How often the keyphrase occurs: per token, and for Chinese also per character
    (the figure judged there, with its own bounds)."""
    occurrences = count_phrase(page.body_tokens, tokens(page.keyphrase, page.chinese))
    if page.chinese and occurrences == 0:
        occurrences = page.text.count(page.keyphrase.replace(" ", ""))
    token_density = 100.0 * occurrences / max(1, len(page.body_tokens))
    stats = {"occurrences": occurrences, "density_tokens": round(token_density, 2)}
    density, low, high = token_density, 0.5, 3.0
    if page.chinese:
        phrase_chars = len(CJK_RE.findall(page.keyphrase))
        char_density = 100.0 * occurrences * phrase_chars / max(1, page.text_size)
        stats["density_characters"] = round(char_density, 2)
        density, low, high = char_density, 1.0, 5.0
    findings = _judge_density(occurrences, round(density, 2), low, high)
    findings.stats = stats
    return findings


def _judge_density(occurrences: int, density: float, low: float, high: float) -> Findings:
    if occurrences == 0:
        return found("density", "absent", LEVEL_PROBLEM)
    if density < low:
        return found("density", "low", LEVEL_IMPROVE, d=density, low=low, high=high)
    if density > high:
        return found("density", "stuffing", LEVEL_PROBLEM, d=density, high=high)
    return found("density", "good", LEVEL_GOOD, d=density)


def check_image_alt(page: SeoInputs) -> Findings:
    alts = page.image_alts
    if not alts:
        return found("image_alt", "no_image", LEVEL_IMPROVE)
    if not all(a.strip() for a in alts):
        return found("image_alt", "missing_alt", LEVEL_PROBLEM)
    if any(contains_phrase(a, page.keyphrase, page.chinese) for a in alts):
        return found("image_alt", "has_keyphrase", LEVEL_GOOD, keyphrase=page.keyphrase)
    return found("image_alt", "no_keyphrase", LEVEL_IMPROVE, keyphrase=page.keyphrase)


def check_links(page: SeoInputs) -> Findings:
    """At least one link to another hub page and one to an outside source."""
    internal = found(
        "internal_links",
        "present" if page.internal_links else "missing",
        LEVEL_GOOD if page.internal_links else LEVEL_IMPROVE,
        n=page.internal_links,
    )
    external = found(
        "external_links",
        "present" if page.external_links else "missing",
        LEVEL_GOOD if page.external_links else LEVEL_IMPROVE,
        n=page.external_links,
    )
    return Findings(internal.items + external.items)


def check_readability(page: SeoInputs) -> Findings:
    """Sentence and paragraph length in characters for Chinese (there is no Flesch for
    Chinese), Flesch reading ease for English. No hint when there is too little text."""
    if page.chinese:
        return _chinese_readability(page.text)
    return _english_readability(page.text)


def _chinese_readability(text: str) -> Findings:
    sentences = [s for s in SENTENCE_END_ZH.split(text) if CJK_RE.search(s)]
    avg = sum(len(CJK_RE.findall(s)) for s in sentences) / max(1, len(sentences))
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    longest = max((len(CJK_RE.findall(p)) for p in paragraphs), default=0)
    stats = {"avg_sentence_chars": round(avg, 1), "longest_paragraph_chars": longest}
    if not sentences:
        return Findings(stats=stats)
    if avg > 60:
        findings = found("readability", "zh_long_sentences", LEVEL_PROBLEM, n=int(avg))
    elif avg > 40 or longest > 250:
        findings = found("readability", "zh_long_paragraphs", LEVEL_IMPROVE, n=int(avg), p=longest)
    else:
        findings = found("readability", "zh_good", LEVEL_GOOD)
    findings.stats = stats
    return findings


def _english_readability(text: str) -> Findings:
    score = flesch_reading_ease(text)
    if score is None:
        return Findings()
    rounded = round(score, 1)
    if score < 30:
        findings = found("readability", "flesch_difficult", LEVEL_PROBLEM, s=rounded)
    elif score < 50:
        findings = found("readability", "flesch_fair", LEVEL_IMPROVE, s=rounded)
    else:
        findings = found("readability", "flesch_good", LEVEL_GOOD, s=rounded)
    findings.stats = {"flesch_reading_ease": rounded}
    return findings
