"""SEO analysis of a content page for its focus keyphrase.

`analyse(...)` scores plain inputs from 0 to 100 and returns concrete hints (analysis,
one function per check in checks); `analyse_page(page)` extracts those inputs from a
page, and `announce_page_analysis` sends the result on every save (`page_analysed`) for
analytics to keep one per revision, so dashboards can show the trend.

Language-aware: Chinese text is segmented with jieba and measured in characters, with
Baidu's guidance (title ~30 characters, description ~80); Latin text uses Google's
(~60 and ~155). Keyphrase density is counted per token, and for Chinese also per
character. Readability is Flesch reading ease for English and sentence / paragraph
length in characters for Chinese (there is no Flesch for Chinese).
"""

from .analysis import analyse
from .checks import LIMITS, WEIGHTS, SeoInputs, measure
from .language import (
    contains_phrase,
    count_phrase,
    flesch_reading_ease,
    is_chinese,
    syllables,
    tokens,
)
from .messages import hint_message, stored_hint_message, top_hint_messages
from .pages import analyse_page, announce_page_analysis, page_analysed, page_inputs
from .panel import SeoAnalysisPanel
from .result import LEVEL_GOOD, LEVEL_IMPROVE, LEVEL_PROBLEM, Findings, Hint, SeoResult

__all__ = [
    "LEVEL_GOOD",
    "LEVEL_IMPROVE",
    "LEVEL_PROBLEM",
    "LIMITS",
    "WEIGHTS",
    "Findings",
    "Hint",
    "SeoAnalysisPanel",
    "SeoInputs",
    "SeoResult",
    "analyse",
    "analyse_page",
    "announce_page_analysis",
    "contains_phrase",
    "count_phrase",
    "flesch_reading_ease",
    "hint_message",
    "is_chinese",
    "measure",
    "page_analysed",
    "page_inputs",
    "stored_hint_message",
    "syllables",
    "tokens",
    "top_hint_messages",
]
