"""The figures of docs/metrics.md on worked examples, the arithmetic written out."""

import pytest

from campaigns.surveys.scoring import nps_category, nps_summary, servqual_summary


def test_nps_of_ten_answers():
    # 5 promoters (9, 10, 10, 9, 9), 3 passives (7, 8, 8), 2 detractors (6, 0):
    # NPS = 100 * (5 - 2) / 10 = 30.
    scores = [9, 10, 10, 9, 9, 7, 8, 8, 6, 0]
    assert nps_summary(scores) == {
        "answers": 10,
        "promoters": 5,
        "passives": 3,
        "detractors": 2,
        "nps": 30.0,
    }


def test_nps_bounds_and_edges():
    assert nps_summary([10, 9])["nps"] == 100
    assert nps_summary([0, 6])["nps"] == -100
    assert nps_summary([7, 8])["nps"] == 0
    assert nps_summary([])["nps"] is None
    # 1 promoter, 2 detractors of 3: 100 * (1 - 2) / 3 = -33.3
    assert nps_summary([9, 3, 6])["nps"] == -33.3
    assert [nps_category(s) for s in (6, 7, 8, 9)] == [
        "detractor",
        "passive",
        "passive",
        "promoter",
    ]


ITEMS = [
    {"id": "t1", "dimension": "tangibles", "expectation": "E t1", "perception": "P t1"},
    {"id": "t2", "dimension": "tangibles", "expectation": "E t2", "perception": "P t2"},
    {"id": "r1", "dimension": "reliability", "expectation": "E r1", "perception": "P r1"},
    {"id": "s1", "dimension": "responsiveness", "expectation": "E s1", "perception": "P s1"},
    {"id": "a1", "dimension": "assurance", "expectation": "E a1", "perception": "P a1"},
    {"id": "m1", "dimension": "empathy", "expectation": "E m1", "perception": "P m1"},
]
# Two respondents.
ANSWERS = [
    {
        "e": {"t1": 7, "t2": 6, "r1": 7, "s1": 6, "a1": 5, "m1": 4},
        "p": {"t1": 5, "t2": 6, "r1": 4, "s1": 6, "a1": 6, "m1": 2},
    },
    {
        "e": {"t1": 5, "t2": 6, "r1": 7, "s1": 4, "a1": 5, "m1": 6},
        "p": {"t1": 5, "t2": 4, "r1": 2, "s1": 5, "a1": 6, "m1": 3},
    },
]


def test_servqual_worked_example():
    result = servqual_summary(ITEMS, ANSWERS)
    dims = {d["code"]: d for d in result["dimensions"]}
    items = {i["id"]: i for i in result["items"]}
    # Item t1: expectation (7 + 5) / 2 = 6, perception (5 + 5) / 2 = 5, gap -1.
    assert (items["t1"]["expectation_mean"], items["t1"]["perception_mean"]) == (6, 5)
    assert items["t1"]["gap"] == -1
    # Item t2: expectation 6, perception (6 + 4) / 2 = 5, gap -1.
    assert items["t2"]["gap"] == -1
    # Tangibles over its items and respondents: E (7+6+5+6)/4 = 6, P (5+6+5+4)/4 = 5.
    assert dims["tangibles"]["expectation_mean"] == 6
    assert dims["tangibles"]["perception_mean"] == 5
    assert dims["tangibles"]["gap"] == -1
    # Reliability: E (7+7)/2 = 7, P (4+2)/2 = 3, gap -4.
    assert dims["reliability"]["gap"] == -4
    # Responsiveness: E (6+4)/2 = 5, P (6+5)/2 = 5.5, gap +0.5.
    assert dims["responsiveness"]["gap"] == 0.5
    # Assurance: E 5, P 6, gap +1.
    assert dims["assurance"]["gap"] == 1
    # Empathy: E (4+6)/2 = 5, P (2+3)/2 = 2.5, gap -2.5.
    assert dims["empathy"]["gap"] == -2.5
    # Overall: (-1 - 4 + 0.5 + 1 - 2.5) / 5 = -6 / 5 = -1.2.
    assert result["score"] == pytest.approx(-1.2)
    assert result["respondents"] == 2


def test_servqual_gaps_stay_within_six():
    worst = {"e": {i["id"]: 7 for i in ITEMS}, "p": {i["id"]: 1 for i in ITEMS}}
    best = {"e": {i["id"]: 1 for i in ITEMS}, "p": {i["id"]: 7 for i in ITEMS}}
    assert servqual_summary(ITEMS, [worst])["score"] == -6
    assert servqual_summary(ITEMS, [best])["score"] == 6
    assert servqual_summary(ITEMS, [])["score"] is None
