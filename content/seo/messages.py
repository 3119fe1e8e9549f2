"""SEO hints in words: one function from a hint's code and parameters to its message in
the active language (the reader's, at display time), with ngettext wherever a count
appears.

The checks (content.seo.checks) store codes and figures only; whoever shows a hint (the
editor panel, the campaign dashboard, the home panel) calls `hint_message` or
`stored_hint_messages` while the reader's language is active. Hints stored before codes
existed carry their old words in "message": shown as they are when the code is unknown.
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

LEVELS_IN_ORDER = ("problem", "improvement", "good")


def _title_too_long(p):
    return ngettext(
        "The SEO title has %(n)d character; keep it within about %(max)d so it is not cut off.",
        "The SEO title has %(n)d characters; keep it within about %(max)d so it is not cut off.",
        p["n"],
    ) % {"n": p["n"], "max": p["max"]}


def _title_too_short(p):
    return ngettext(
        "The SEO title has only %(n)d character; use up to about %(max)d.",
        "The SEO title has only %(n)d characters; use up to about %(max)d.",
        p["n"],
    ) % {"n": p["n"], "max": p["max"]}


def _description_too_long(p):
    return ngettext(
        "The meta description has %(n)d character; search engines show about %(max)d.",
        "The meta description has %(n)d characters; search engines show about %(max)d.",
        p["n"],
    ) % {"n": p["n"], "max": p["max"]}


def _description_too_short(p):
    return ngettext(
        "The meta description has only %(n)d character; aim for %(min)d-%(max)d.",
        "The meta description has only %(n)d characters; aim for %(min)d-%(max)d.",
        p["n"],
    ) % {"n": p["n"], "min": p["min"], "max": p["max"]}


def _short_in_words(p):
    return ngettext(
        "The text has %(n)d word; at least %(min)d is recommended.",
        "The text has %(n)d words; at least %(min)d is recommended.",
        p["n"],
    ) % {"n": p["n"], "min": p["min"]}


def _short_in_characters(p):
    return ngettext(
        "The text has %(n)d character; at least %(min)d is recommended.",
        "The text has %(n)d characters; at least %(min)d is recommended.",
        p["n"],
    ) % {"n": p["n"], "min": p["min"]}


def _zh_long_sentences(p):
    return ngettext(
        "Sentences average %(n)d character; split them (aim for under 40).",
        "Sentences average %(n)d characters; split them (aim for under 40).",
        p["n"],
    ) % {"n": p["n"]}


def _zh_long_paragraphs(p):
    return ngettext(
        "Sentences average %(n)d character and the longest paragraph has %(p)d; "
        "shorter sentences (under 40) and paragraphs (under 250) read better on phones.",
        "Sentences average %(n)d characters and the longest paragraph has %(p)d; "
        "shorter sentences (under 40) and paragraphs (under 250) read better on phones.",
        p["n"],
    ) % {"n": p["n"], "p": p["p"]}


# code -> params -> message. Codes are stored: never rename one, add a new one.
MESSAGES = {
    "title_length.empty": lambda p: _("The SEO title is empty."),
    "title_length.too_long": _title_too_long,
    "title_length.too_short": _title_too_short,
    "title_length.good": lambda p: _("The SEO title length is good."),
    "description_length.missing": lambda p: (
        _("No meta description: write one of about %(max)d characters.") % {"max": p["max"]}
    ),
    "description_length.too_long": _description_too_long,
    "description_length.too_short": _description_too_short,
    "description_length.good": lambda p: _("The meta description length is good."),
    "text_length.good": lambda p: _("The text is long enough."),
    "text_length.short_words": _short_in_words,
    "text_length.short_characters": _short_in_characters,
    "keyphrase_missing.unset": lambda p: _(
        "Set a focus keyphrase so the page can be checked for it."
    ),
    "keyphrase_title.found": lambda p: _("The keyphrase appears in the SEO title."),
    "keyphrase_title.missing": lambda p: _(
        "Put the keyphrase in the SEO title, preferably at the start."
    ),
    "keyphrase_description.found": lambda p: _("The keyphrase appears in the meta description."),
    "keyphrase_description.missing": lambda p: _("Use the keyphrase in the meta description."),
    "keyphrase_first_paragraph.found": lambda p: _("The keyphrase appears in the first paragraph."),
    "keyphrase_first_paragraph.missing": lambda p: _("Use the keyphrase in the first paragraph."),
    "keyphrase_heading.found": lambda p: _("The keyphrase appears in a subheading."),
    "keyphrase_heading.missing": lambda p: _("Use the keyphrase in at least one subheading."),
    "slug.short_ascii": lambda p: _("The slug is short and readable."),
    "slug.not_ascii": lambda p: _(
        "Use a short ASCII slug (pinyin or English) instead of Chinese characters."
    ),
    "slug.has_keyphrase": lambda p: _("The slug contains the keyphrase."),
    "slug.missing_keyphrase": lambda p: (
        _("Put the keyphrase in the slug, e.g. “%(slug)s”.") % {"slug": p["slug"]}
    ),
    "density.absent": lambda p: _("The keyphrase does not appear in the text."),
    "density.low": lambda p: (
        _("Keyphrase density is %(d).1f%%; aim for %(low).1f-%(high).1f%%.")
        % {"d": p["d"], "low": p["low"], "high": p["high"]}
    ),
    "density.stuffing": lambda p: (
        _("Keyphrase density is %(d).1f%%: that reads as keyword stuffing (above %(high).1f%%).")
        % {"d": p["d"], "high": p["high"]}
    ),
    "density.good": lambda p: _("Keyphrase density is %(d).1f%%.") % {"d": p["d"]},
    "image_alt.no_image": lambda p: _("Add an image with alternative text."),
    "image_alt.missing_alt": lambda p: _("Some images have no alternative text."),
    "image_alt.has_keyphrase": lambda p: _("An image's alternative text has the keyphrase."),
    "image_alt.no_keyphrase": lambda p: _(
        "Use the keyphrase in the alternative text of at least one image."
    ),
    "internal_links.present": lambda p: _("The page links to other hub pages."),
    "internal_links.missing": lambda p: _("Link to at least one related page on the hub."),
    "external_links.present": lambda p: _("The page links to outside sources."),
    "external_links.missing": lambda p: _("Link to at least one useful outside source."),
    "readability.zh_long_sentences": _zh_long_sentences,
    "readability.zh_long_paragraphs": _zh_long_paragraphs,
    "readability.zh_good": lambda p: _("Sentences and paragraphs are easy to read."),
    "readability.flesch_difficult": lambda p: (
        _("Flesch reading ease is %(s).0f (very difficult); use shorter sentences and words.")
        % {"s": p["s"]}
    ),
    "readability.flesch_fair": lambda p: (
        _("Flesch reading ease is %(s).0f (fairly difficult); aim for 60 or more.") % {"s": p["s"]}
    ),
    "readability.flesch_good": lambda p: (
        _("Flesch reading ease is %(s).0f: easy enough to read.") % {"s": p["s"]}
    ),
}


def hint_message(code: str, params: dict | None = None, fallback: str = "") -> str:
    """The message of hint `code` with `params`, in the active language; `fallback` (a
    hint's words stored before codes existed) when the code is unknown or its
    parameters do not fit it."""
    render = MESSAGES.get(code)
    if render is None:
        return fallback
    try:
        return render(params or {})
    except (KeyError, TypeError, ValueError):
        return fallback


def stored_hint_message(hint: dict) -> str:
    """A stored hint ({"code", "params", ...}; old rows also "message") in words."""
    return hint_message(hint.get("code", ""), hint.get("params"), hint.get("message", ""))


def top_hint_messages(hints: list[dict], limit: int = 3) -> list[str]:
    """The first `limit` stored hints that need work, problems first, in words."""
    order = {level: i for i, level in enumerate(LEVELS_IN_ORDER)}
    todo = [h for h in hints or [] if h.get("level") != "good"]
    todo.sort(key=lambda h: order.get(h.get("level"), 1))  # stable: check order kept
    return [stored_hint_message(h) for h in todo[:limit]]
