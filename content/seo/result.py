"""What an analysis returns: hints with a level, and the score they add up to.

A hint is data, not prose: the check it belongs to (its weight in the score), a stable
code naming what was found, and the figures the message needs (`params`). Its words
are put together when someone reads it, in the reader's language
(content.seo.messages), so an analysis stored after a Chinese editor's save reads in
English to an English reader and the other way round.
"""

from dataclasses import dataclass, field

from .messages import hint_message

LEVEL_PROBLEM = "problem"
LEVEL_IMPROVE = "improvement"
LEVEL_GOOD = "good"
LEVEL_ORDER = {LEVEL_PROBLEM: 0, LEVEL_IMPROVE: 1, LEVEL_GOOD: 2}
# A check earns all of its weight (good), half (improvement) or nothing (problem).
LEVEL_SHARE = {LEVEL_GOOD: 1.0, LEVEL_IMPROVE: 0.5, LEVEL_PROBLEM: 0.0}


@dataclass
class Hint:
    check: str  # the check that found it (content.seo.checks.WEIGHTS)
    code: str  # what it found, stable: "title_length.too_long"
    level: str
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The hint in words, in the active language."""
        return hint_message(self.code, self.params)

    def as_dict(self) -> dict:
        return {"check": self.check, "code": self.code, "level": self.level, "params": self.params}


@dataclass
class SeoResult:
    score: int
    language: str
    keyphrase: str
    hints: list[Hint] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def problems(self) -> list[Hint]:
        return sorted(
            (h for h in self.hints if h.level != LEVEL_GOOD), key=lambda h: LEVEL_ORDER[h.level]
        )

    def hints_as_dicts(self) -> list[dict]:
        return [h.as_dict() for h in self.hints]


@dataclass(frozen=True)
class Finding:
    """One check's hint and the weight the check has in the score."""

    hint: Hint
    weight: float


@dataclass
class Findings:
    """What a check found: its hints (none when it does not apply) and the figures it
    measured, both in the order they appear in the result."""

    items: list[Finding] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def hints(self) -> list[Hint]:
        return [f.hint for f in self.items]


def score(items: list[Finding]) -> int:
    """0 to 100: the share of the checks' weights their levels earned."""
    earned = possible = 0.0
    for item in items:
        possible += item.weight
        earned += LEVEL_SHARE[item.hint.level] * item.weight
    return int(round(100 * earned / possible) if possible else 0)
