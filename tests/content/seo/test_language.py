"""Measuring text (content.seo.language): which language, words or characters, phrases."""

from content.seo import contains_phrase, count_phrase, is_chinese, syllables, tokens


def test_language_given_wins_else_the_share_of_chinese_characters():
    assert is_chinese("zh-hans") and is_chinese("ZH") and not is_chinese("en", "春季促销")
    assert is_chinese("", "春季促销 sale") and not is_chinese("", "spring sale 春")


def test_tokens_are_jieba_words_for_chinese_and_letter_runs_otherwise():
    assert tokens("Spring sale, don’t wait!", chinese=False) == ["spring", "sale", "don’t", "wait"]
    words = tokens("春季促销开始了。", chinese=True)
    assert "。" not in words and "".join(words) == "春季促销开始了"


def test_phrases_are_counted_as_whole_token_runs():
    assert count_phrase(["a", "spring", "sale", "spring", "sale"], ["spring", "sale"]) == 2
    assert count_phrase(["spring", "sales"], ["spring", "sale"]) == 0
    assert count_phrase(["x"], []) == 0


def test_containment_is_per_word_in_english_and_per_character_in_chinese():
    assert contains_phrase("The Spring Sale guide", "spring sale", chinese=False)
    assert not contains_phrase("springs sale", "spring sale", chinese=False)
    assert contains_phrase("春季 促销指南", "春季促销", chinese=True)
    assert not contains_phrase("", "春季促销", chinese=True)


def test_syllables():
    # A silent final "e" is dropped, except in "-le" and "-ee" endings.
    words = ("price", "spring", "table", "agree", "customers")
    assert [syllables(w) for w in words] == [1, 1, 2, 2, 3]
