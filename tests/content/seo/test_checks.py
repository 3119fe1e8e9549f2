"""One SEO check at a time (content.seo.checks), in English and in Chinese: each
returns its hint with the right level, and the figures it measured."""

import pytest

from content.seo import WEIGHTS, measure
from content.seo.checks import (
    check_density,
    check_description_length,
    check_image_alt,
    check_keyphrase_placement,
    check_keyphrase_set,
    check_links,
    check_readability,
    check_slug,
    check_text_length,
    check_title_length,
)

EN = {"keyphrase": "spring sale", "language": "en", "title": "", "description": "", "slug": ""}
ZH = {"keyphrase": "春季促销", "language": "zh-hans", "title": "", "description": "", "slug": ""}


def page(base, **parts):
    return measure(**{**base, "text": "", **parts})


def only(findings):
    """The one hint of a single-hint check, as (code, level, message)."""
    ((item),) = findings.items
    assert item.weight == WEIGHTS[item.hint.check]
    return item.hint.check, item.hint.level, item.hint.message


def levels(findings):
    return {h.check: h.level for h in findings.hints}


@pytest.mark.parametrize(
    ("base", "title", "level"),
    [
        (EN, "", "problem"),
        (EN, "Short", "improvement"),  # under 30
        (EN, "Spring sale guide: plan a sale that sells out", "good"),
        (EN, "x" * 65, "improvement"),  # over 60, within 20 % more
        (EN, "x" * 80, "problem"),
        (ZH, "春季", "improvement"),  # under 10 characters
        (ZH, "春季促销指南：三步做好春季活动", "good"),  # 15: fine for Baidu
        (ZH, "春" * 34, "improvement"),  # over 30, within 20 % more
        (ZH, "春" * 40, "problem"),  # under Google's 60, far over Baidu's 30
    ],
)
def test_title_length(base, title, level):
    code, found_level, message = only(check_title_length(page(base, title=title)))
    assert (code, found_level) == ("title_length", level)
    if level != "good" and title:
        assert str(len(title)) in message


@pytest.mark.parametrize(
    ("base", "length", "level"),
    [
        (EN, 0, "problem"),
        (EN, 100, "improvement"),
        (EN, 140, "good"),
        (EN, 160, "improvement"),
        (ZH, 30, "improvement"),
        (ZH, 60, "good"),
        (ZH, 90, "improvement"),  # fine for Google, too long for Baidu
    ],
)
def test_description_length(base, length, level):
    letter = "春" if base is ZH else "x"
    code, found_level, message = only(
        check_description_length(page(base, description=letter * length))
    )
    assert (code, found_level) == ("description_length", level)
    if length == 0:
        assert ("80" if base is ZH else "155") in message


def test_text_length_in_words_for_english():
    assert only(check_text_length(page(EN, text="word " * 300)))[1] == "good"
    code, level, message = only(check_text_length(page(EN, text="word " * 200)))
    assert level == "improvement" and "200 words" in message
    assert only(check_text_length(page(EN, text="word " * 100)))[1] == "problem"


def test_text_length_in_characters_for_chinese():
    assert only(check_text_length(page(ZH, text="春季促销。" * 150)))[1] == "good"  # 600
    code, level, message = only(check_text_length(page(ZH, text="春季促销。" * 100)))
    assert level == "improvement" and "400 characters" in message
    assert only(check_text_length(page(ZH, text="春季促销。" * 50)))[1] == "problem"


@pytest.mark.parametrize("base", [EN, ZH])
def test_keyphrase_set(base):
    assert check_keyphrase_set(page(base)).items == []
    code, level, _message = only(check_keyphrase_set(page({**base, "keyphrase": "  "})))
    assert (code, level) == ("keyphrase_missing", "problem")


def test_keyphrase_placement_in_english():
    found = check_keyphrase_placement(
        page(
            EN,
            title="Spring Sale guide",  # case does not matter
            description="Nothing about it.",
            text="Plan your spring sale early. " + "More text. " * 100,
            headings=["Budget", "Why a spring sale works"],
        )
    )
    assert levels(found) == {
        "keyphrase_title": "good",
        "keyphrase_description": "improvement",
        "keyphrase_first_paragraph": "good",  # the start of the text stands in for it
        "keyphrase_heading": "good",
    }
    missing = check_keyphrase_placement(page(EN, title="Guide", first_paragraph="Hello."))
    assert levels(missing)["keyphrase_title"] == "problem"
    assert levels(missing)["keyphrase_first_paragraph"] == "improvement"


def test_keyphrase_placement_in_chinese_ignores_spaces():
    found = check_keyphrase_placement(
        page(
            ZH,
            title="春季 促销指南",
            description="本文介绍春季促销的准备。",
            first_paragraph="夏季活动。",
            headings=["预算"],
        )
    )
    assert levels(found) == {
        "keyphrase_title": "good",
        "keyphrase_description": "good",
        "keyphrase_first_paragraph": "improvement",
        "keyphrase_heading": "improvement",
    }


def test_slug_in_english_carries_the_keyphrase():
    assert only(check_slug(page(EN, slug="spring-sale-guide")))[1] == "good"
    code, level, message = only(check_slug(page(EN, slug="guide")))
    assert level == "improvement" and "spring-sale" in message


@pytest.mark.parametrize(
    ("slug", "level"),
    [
        ("spring-sale-guide", "good"),
        ("春季促销", "improvement"),
        ("x" * 61, "improvement"),
        ("", "improvement"),
    ],
)
def test_slug_in_chinese_is_short_ascii(slug, level):
    assert only(check_slug(page(ZH, slug=slug)))[1] == level


def test_density_in_english_per_word():
    text = "spring sale " + "other words here " * 60  # 1 in 182 words
    found = check_density(page(EN, text=text))
    assert found.stats == {"occurrences": 1, "density_tokens": round(100 / 182, 2)}
    assert only(found)[1] == "good"
    assert only(check_density(page(EN, text="no such phrase " * 50)))[1] == "problem"
    sparse = check_density(page(EN, text="spring sale " + "other words " * 300))
    assert only(sparse)[1] == "improvement"
    stuffed = check_density(page(EN, text="spring sale " * 200))
    assert only(stuffed)[1] == "problem" and "stuffing" in only(stuffed)[2]


def test_density_in_chinese_per_character():
    text = "春季促销开始了。" + "我们建议提前准备商品和预算。" * 10
    found = check_density(page(ZH, text=text))
    assert found.stats["occurrences"] == 1
    size = page(ZH, text=text).text_size
    assert found.stats["density_characters"] == round(100 * 4 / size, 2)
    assert "density_tokens" in found.stats
    assert only(found)[1] == "good"  # 4 of 137 characters: within 1-5 %
    stuffed = check_density(page(ZH, text="春季促销" * 50))
    assert only(stuffed)[1] == "problem"


@pytest.mark.parametrize(
    ("base", "alts", "level"),
    [
        (EN, [], "improvement"),
        (EN, ["Shoppers", ""], "problem"),
        (EN, ["Shoppers at a spring sale"], "good"),
        (EN, ["Shoppers"], "improvement"),
        (ZH, ["春季促销海报"], "good"),
        (ZH, ["海报"], "improvement"),
        (ZH, ["  "], "problem"),
    ],
)
def test_image_alt(base, alts, level):
    code, found_level, _message = only(check_image_alt(page(base, image_alts=alts)))
    assert (code, found_level) == ("image_alt", level)


@pytest.mark.parametrize("base", [EN, ZH])
def test_links(base):
    assert levels(check_links(page(base, internal_links=1, external_links=2))) == {
        "internal_links": "good",
        "external_links": "good",
    }
    assert levels(check_links(page(base))) == {
        "internal_links": "improvement",
        "external_links": "improvement",
    }


EASY = "We plan the sale. We pick the goods. We set the price. We tell our friends. It is fun."
FAIR = "The spring sale starts next week, and our marketing team prepares special seasonal offers for regular customers. "
HARD = (
    "Our customers usually appreciate a carefully prepared seasonal promotion with honest prices. "
)


@pytest.mark.parametrize(
    ("text", "level"),
    [(EASY + " Then we rest.", "good"), (FAIR * 3, "improvement"), (HARD * 3, "problem")],
)
def test_readability_in_english_is_flesch_reading_ease(text, level):
    found = check_readability(page(EN, text=text))
    assert only(found)[1] == level
    assert set(found.stats) == {"flesch_reading_ease"}


def test_readability_in_english_needs_enough_words():
    found = check_readability(page(EN, text="Too short to judge."))
    assert found.items == [] and found.stats == {}


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("春季促销开始了。我们提前准备。", "good"),
        ("春" * 50 + "。", "improvement"),  # sentences over 40 characters
        (("春" * 30 + "。") * 10 + "\n\n短句。", "improvement"),  # a paragraph over 250
        ("春" * 70 + "。", "problem"),
    ],
)
def test_readability_in_chinese_is_sentence_and_paragraph_length(text, level):
    found = check_readability(page(ZH, text=text))
    assert only(found)[1] == level
    assert set(found.stats) == {"avg_sentence_chars", "longest_paragraph_chars"}


def test_readability_in_chinese_without_sentences_still_measures():
    found = check_readability(page(ZH, text="abc"))
    assert found.items == []
    assert found.stats == {"avg_sentence_chars": 0.0, "longest_paragraph_chars": 0}
