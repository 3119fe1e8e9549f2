"""Hints in words (content.seo.messages): every code a check can give has words, counts
go through ngettext, and an unknown code shows the words stored with it."""

import pytest
from django.utils import translation

from content.seo import analyse, hint_message, stored_hint_message, top_hint_messages
from content.seo.messages import MESSAGES

PAGES = [
    {"keyphrase": "", "language": "en", "title": "", "description": "", "slug": "", "text": ""},
    {
        "keyphrase": "spring sale",
        "language": "en",
        "title": "x" * 80,
        "description": "short",
        "slug": "guide",
        "text": "Spring sale spring sale spring sale. " * 3,
        "image_alts": [""],
    },
    {
        "keyphrase": "春季促销",
        "language": "zh-hans",
        "title": "春" * 40,
        "description": "春季促销" * 30,
        "slug": "春季",
        "text": ("春季促销" * 20 + "。") * 3,
        "headings": ["春季促销"],
        "image_alts": ["春季促销图片"],
    },
]


@pytest.mark.parametrize("inputs", PAGES)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_hint_of_an_analysis_has_words(inputs, language):
    result = analyse(**inputs)
    for hint in result.hints:
        assert hint.code in MESSAGES, hint.code
        with translation.override(language):
            assert hint.message and "%(" not in hint.message


def test_counts_are_said_with_ngettext():
    with translation.override("en"):
        one = hint_message("title_length.too_short", {"n": 1, "max": 60})
        many = hint_message("title_length.too_short", {"n": 17, "max": 60})
    assert one == "The SEO title has only 1 character; use up to about 60."
    assert many == "The SEO title has only 17 characters; use up to about 60."
    with translation.override("en"):
        assert hint_message("text_length.short_words", {"n": 1, "min": 300}).startswith(
            "The text has 1 word;"
        )


def test_the_same_stored_hint_reads_in_each_language():
    stored = {
        "check": "keyphrase_missing",
        "code": "keyphrase_missing.unset",
        "level": "problem",
        "params": {},
    }
    with translation.override("en"):
        assert (
            stored_hint_message(stored)
            == "Set a focus keyphrase so the page can be checked for it."
        )
    with translation.override("zh-hans"):
        assert stored_hint_message(stored) == "请设置焦点关键词，以便检查本页。"


def test_unknown_codes_and_bad_params_fall_back_to_the_stored_words():
    assert stored_hint_message({"code": "title_length", "message": "旧的提示"}) == "旧的提示"
    assert hint_message("title_length.too_long", {"n": 1}, fallback="old words") == "old words"
    assert hint_message("no.such.code") == ""


def test_top_hints_put_problems_first_and_leave_out_good_ones():
    hints = [
        {"code": "slug.has_keyphrase", "level": "good", "params": {}},
        {"code": "image_alt.no_image", "level": "improvement", "params": {}},
        {"code": "title_length.empty", "level": "problem", "params": {}},
    ]
    with translation.override("en"):
        assert top_hint_messages(hints, 3) == [
            "The SEO title is empty.",
            "Add an image with alternative text.",
        ]
