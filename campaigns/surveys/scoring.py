"""The survey figures, as pure functions of the answers (docs/metrics.md defines them).

NPS = % promoters (9-10) - % detractors (0-6) of the answers, in [-100, 100].
SERVQUAL: an item's gap = mean(perception) - mean(expectation) over its respondents; a
dimension's gap = mean of its perception ratings - mean of its expectation ratings,
over the dimension's items and respondents; the overall (unweighted) SERVQUAL score =
mean of the dimension gaps. Ratings 1-7, so every gap is in [-6, 6].
"""

from __future__ import annotations

from collections.abc import Iterable

from .defaults import DIMENSIONS


def nps_category(score: int) -> str:
    if score >= 9:
        return "promoter"
    if score >= 7:
        return "passive"
    return "detractor"


def nps_summary(scores: Iterable[int]) -> dict:
    scores = [int(s) for s in scores if s is not None]
    total = len(scores)
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    passives = total - promoters - detractors
    nps = round(100 * (promoters - detractors) / total, 1) if total else None
    return {
        "answers": total,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps": nps,
    }


def _mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None


def _gap(perceptions: list, expectations: list) -> float | None:
    if not perceptions or not expectations:
        return None
    return _mean(perceptions) - _mean(expectations)


def servqual_summary(items: list[dict], answer_sets: Iterable[dict]) -> dict:
    """`items`: the page's survey_items(); `answer_sets`: each respondent's
    {"e": {id: n}, "p": {id: n}}. Items a respondent skipped (an item added after
    they answered) are left out of that item's means."""
    answer_sets = list(answer_sets)
    per_item = []
    by_dimension: dict[str, dict[str, list]] = {code: {"e": [], "p": []} for code, _l in DIMENSIONS}
    for item in items:
        e = [a["e"][item["id"]] for a in answer_sets if item["id"] in a.get("e", {})]
        p = [a["p"][item["id"]] for a in answer_sets if item["id"] in a.get("p", {})]
        by_dimension.setdefault(item["dimension"], {"e": [], "p": []})
        by_dimension[item["dimension"]]["e"].extend(e)
        by_dimension[item["dimension"]]["p"].extend(p)
        per_item.append(
            {
                **item,
                "expectation_mean": _mean(e),
                "perception_mean": _mean(p),
                "gap": _gap(p, e),
            }
        )
    labels = dict(DIMENSIONS)
    dimensions = []
    for code, values in by_dimension.items():
        dimensions.append(
            {
                "code": code,
                "label": labels.get(code, code),
                "expectation_mean": _mean(values["e"]),
                "perception_mean": _mean(values["p"]),
                "gap": _gap(values["p"], values["e"]),
                "items": [i for i in per_item if i["dimension"] == code],
            }
        )
    gaps = [d["gap"] for d in dimensions if d["gap"] is not None]
    return {
        "respondents": len(answer_sets),
        "dimensions": dimensions,
        "items": per_item,
        "score": _mean(gaps),
    }


def respondent_gap(items: list[dict], answers: dict) -> float | None:
    """One respondent's unweighted SERVQUAL score (the segment's "low score" test)."""
    return servqual_summary(items, [answers])["score"]
