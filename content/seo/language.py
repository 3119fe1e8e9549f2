"""Measuring text in either language: Chinese is segmented with jieba and counted in
characters, Latin text in words; Flesch reading ease for English."""

import re

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WORD_RE = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:['’][A-Za-z]+)?")
SENTENCE_END_EN = re.compile(r"[.!?]+(?:\s+|$)")
SENTENCE_END_ZH = re.compile(r"[。！？!?；;]+")


def is_chinese(language: str, text: str = "") -> bool:
    if language:
        return language.lower().startswith("zh")
    cjk = len(CJK_RE.findall(text))
    return cjk > 0.2 * max(1, len(text.strip()))


def tokens(text: str, chinese: bool) -> list[str]:
    """Words of `text`: jieba's segmentation for Chinese, letter runs otherwise."""
    if chinese:
        # Imported when first needed: importing jieba takes about half a second, which
        # a process that never analyses a Chinese page should not pay.
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
