"""The metrics are declared once (analytics.metrics); the rollup tables and the
dashboards' columns follow that declaration, and the rates are computed in one place."""

import pytest
from django.db import models

from analytics.metrics import (
    COUNTERS,
    METRIC_COLUMNS,
    METRIC_FIELDS,
    RATE_NAMES,
    RATES,
    as_percent,
    rates,
)
from analytics.models import CampaignDailyRollup, DailyRollup, HourlyRollup


def test_every_counter_is_an_integer_column_of_every_rollup_table():
    assert len(METRIC_FIELDS) == len(set(METRIC_FIELDS)) == 18
    for model in (HourlyRollup, DailyRollup, CampaignDailyRollup):
        for counter in COUNTERS:
            field = model._meta.get_field(counter.name)
            assert isinstance(field, models.BigIntegerField), (model, counter.name)
            assert field.default == 0


def test_dashboard_columns_keep_their_order_and_headers():
    assert [(name, str(label)) for name, label in METRIC_COLUMNS] == [
        ("sends", "Sends"),
        ("deliveries", "Delivered"),
        ("opens", "Opens"),
        ("unique_opens", "Unique openers"),
        ("clicks", "Clicks"),
        ("unique_clicks", "Unique clicks"),
        ("unique_clickers", "Unique clickers (email)"),
        ("email_ctr", "Email CTR"),
        ("open_rate", "Open rate"),
        ("click_to_open", "Click-to-open"),
        ("web_clickers", "Clickers (hub pages)"),
        ("web_click_rate", "Web click rate"),
        ("unsubscribes", "Unsubscribes"),
        ("unsubscribe_rate", "Unsubscribe rate"),
        ("bounces", "Bounces"),
        ("bounce_rate", "Bounce rate"),
        ("bot_clicks", "Bot clicks (excluded)"),
        ("pageviews", "Page views"),
        ("organic_visits", "Organic visits"),
        ("conversions", "Conversions"),
        ("converting_clicks", "Converting clicks"),
        ("conversion_rate", "Conversion rate"),
    ]
    # Every column is a counter the rollups keep or a rate computed from them.
    assert {name for name, _ in METRIC_COLUMNS} - set(METRIC_FIELDS) <= RATE_NAMES


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({}, None),  # nothing delivered: not measured, not 0 %
        ({"unique_clickers": 3, "deliveries_to_date": 10}, 0.3),
        ({"unique_clickers": 0, "deliveries_to_date": 4}, 0.0),
    ],
)
def test_email_ctr_is_clickers_over_delivered_or_not_measured(row, expected):
    assert rates(dict(row))["email_ctr"] == expected


def test_each_rate_divides_counters_of_the_same_rows():
    names = {rate.name: (rate.numerator, rate.denominator) for rate in RATES}
    assert names["email_ctr"] == ("unique_clickers", "deliveries_to_date")
    assert names["click_to_open"] == ("unique_clickers", "unique_opens_to_date")
    assert names["bounce_rate"] == ("bounces", "sends_to_date")
    assert names["unsubscribe_rate"] == ("unsubscribes", "deliveries_to_date")
    assert names["web_click_rate"] == ("web_clickers", "web_views")


def test_rates_are_shown_as_percentages_or_a_dash():
    assert as_percent(None) == "—"
    assert as_percent(0.125) == "12.5 %"
    assert as_percent(1) == "100.0 %"
