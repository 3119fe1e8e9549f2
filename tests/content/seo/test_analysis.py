"""SEO analysis of plain inputs (content.seo.analysis): English and Chinese pages, the
expected hints, and the score the checks add up to."""

import pytest

from content.seo import WEIGHTS, analyse

EN_TEXT = "\n\n".join(
    ["A spring sale works best when you plan it early."]
    + ["Pick the products, set a budget and tell your customers. Keep each step small."] * 40
    + ["Our spring sale guide shows each step. Plan the next spring sale the same way."]
    + ["A spring sale is worth the work."]
)


def hint(result, code):
    return next(h for h in result.hints if h.check == code)


def test_good_english_page_scores_high():
    result = analyse(
        keyphrase="spring sale",
        language="en",
        title="Spring sale guide: plan a sale that sells out early",
        description="How to plan a spring sale step by step: pick products, set a budget, "
        "tell your customers early and measure what worked in the spring sale.",
        slug="spring-sale-guide",
        text=EN_TEXT,
        first_paragraph="A spring sale works best when you plan it early.",
        headings=["Why a spring sale", "Budget"],
        image_alts=["Shoppers at a spring sale"],
        internal_links=2,
        external_links=1,
    )
    assert result.score >= 90
    assert result.language == "en"
    assert all(h.level == "good" for h in result.hints), result.problems
    assert result.stats["flesch_reading_ease"] > 50


def test_weak_english_page_gets_concrete_hints():
    result = analyse(
        keyphrase="spring sale",
        language="en",
        title="News" + " and more news" * 10,
        description="",
        slug="news",
        text="Unrelated prose about notwithstanding institutional considerations. " * 5,
        image_alts=[""],
    )
    assert result.score < 40
    assert hint(result, "keyphrase_title").level == "problem"
    assert hint(result, "description_length").level == "problem"
    assert hint(result, "density").level == "problem"
    assert hint(result, "image_alt").level == "problem"
    assert "spring-sale" in hint(result, "slug").message
    assert hint(result, "title_length").level == "problem"  # 134 characters
    assert hint(result, "text_length").level == "problem"


def test_keyword_stuffing_is_flagged():
    result = analyse(
        keyphrase="spring sale",
        language="en",
        title="Spring sale",
        description="spring sale",
        slug="spring-sale",
        text="spring sale " * 200,
    )
    density = hint(result, "density")
    assert density.level == "problem" and "stuffing" in density.message


ZH_TEXT = "\n\n".join(
    ["春季促销是每年最重要的活动之一。"]
    + [
        "我们建议提前一个月开始准备。先选好商品，再定好预算，然后通知老客户。每天查看数据，及时调整价格和库存。"
    ]
    * 13
    + ["春季促销结束后，请总结经验。"]
)


def test_chinese_page_is_measured_in_characters_with_baidu_limits():
    result = analyse(
        keyphrase="春季促销",
        language="zh-hans",
        title="春季促销指南：三步做好春季活动",
        description="春季促销怎么做？本文从选品、预算和客户通知三个方面，一步一步教你做好春季促销，适合中小商家参考。",
        slug="spring-sale-guide",
        text=ZH_TEXT,
        first_paragraph="春季促销是每年最重要的活动之一。",
        headings=["春季促销的准备"],
        image_alts=["春季促销海报"],
        internal_links=1,
        external_links=1,
    )
    assert result.language == "zh"
    assert hint(result, "title_length").level == "good"  # 15 characters, under Baidu's 30
    assert hint(result, "description_length").level == "good"
    assert result.stats["density_characters"] > 0
    assert result.stats["density_tokens"] > 0
    assert "avg_sentence_chars" in result.stats
    assert result.score >= 85, result.problems


def test_chinese_title_over_30_characters_is_flagged_though_short_for_google():
    title = "春季促销指南：如何在三十天之内用最少的预算做好一场让老客户满意的春季活动"
    assert len(title) < 60  # fine by Google's Latin limit, too long for Baidu
    result = analyse(
        keyphrase="春季促销",
        language="zh-hans",
        title=title,
        description="",
        slug="春季促销",
        text="春季促销开始了，这是一个非常长而且没有任何标点符号的句子它一直写下去让读者很难读懂"
        * 3,
    )
    assert hint(result, "title_length").level in ("improvement", "problem")
    assert "30" in hint(result, "title_length").message
    assert hint(result, "slug").level == "improvement"
    assert hint(result, "readability").level == "problem"


def test_missing_keyphrase():
    result = analyse(keyphrase="", language="en", title="T", description="", slug="t", text="")
    assert hint(result, "keyphrase_missing").level == "problem"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_naughty_inputs_do_not_crash(language, naughty_strings):
    lines = naughty_strings
    text = "\n\n".join(lines[:400])
    result = analyse(
        keyphrase=lines[0] if lines else "",
        language=language,
        title=text[:80],
        description=text[:200],
        slug="x",
        text=text,
    )
    assert 0 <= result.score <= 100


def test_score_is_the_share_of_weights_earned():
    result = analyse(
        keyphrase="",
        language="en",
        title="A title of a good length for search results",
        description="",
        slug="x",
        text="",
        internal_links=1,
    )
    levels = {h.check: h.level for h in result.hints}
    assert list(levels) == [
        "title_length",
        "description_length",
        "text_length",
        "keyphrase_missing",
        "internal_links",
        "external_links",
    ]  # no keyphrase: its checks do not run; too little text for readability
    share = {"good": 1.0, "improvement": 0.5, "problem": 0.0}
    earned = sum(share[level] * WEIGHTS[code] for code, level in levels.items())
    assert result.score == round(100 * earned / sum(WEIGHTS[c] for c in levels))


def test_stats_in_a_fixed_order():
    english = analyse(
        keyphrase="spring sale", language="en", title="", description="", slug="", text=EN_TEXT
    )
    assert list(english.stats) == [
        "language",
        "text_size",
        "tokens",
        "occurrences",
        "density_tokens",
        "flesch_reading_ease",
    ]
    chinese = analyse(
        keyphrase="春季促销", language="zh", title="", description="", slug="", text=ZH_TEXT
    )
    assert list(chinese.stats) == [
        "language",
        "text_size",
        "tokens",
        "occurrences",
        "density_tokens",
        "density_characters",
        "avg_sentence_chars",
        "longest_paragraph_chars",
    ]


def test_language_is_guessed_from_the_text_when_not_given():
    assert (
        analyse(keyphrase="", language="", title="", description="", slug="", text=ZH_TEXT).language
        == "zh"
    )
    assert (
        analyse(keyphrase="", language="", title="", description="", slug="", text=EN_TEXT).language
        == "en"
    )
