"""The metrics are declared once (analytics.metrics); the rollup tables and the
dashboards' columns follow that declaration."""

from django.db import models

from analytics.metrics import COUNTERS, METRIC_COLUMNS, METRIC_FIELDS
from analytics.models import CampaignDailyRollup, DailyRollup, HourlyRollup


def test_every_counter_is_an_integer_column_of_every_rollup_table():
    assert len(METRIC_FIELDS) == len(set(METRIC_FIELDS)) == 13
    for model in (HourlyRollup, DailyRollup, CampaignDailyRollup):
        for counter in COUNTERS:
            field = model._meta.get_field(counter.name)
            assert isinstance(field, models.BigIntegerField), (model, counter.name)
            assert field.default == 0


def test_dashboard_columns_keep_their_order_and_headers():
    assert [(name, str(label)) for name, label in METRIC_COLUMNS] == [
        ("sends", "Sends"),
        ("deliveries", "Deliveries"),
        ("opens", "Opens"),
        ("unique_opens", "Unique opens"),
        ("clicks", "Clicks"),
        ("unique_clicks", "Unique clicks"),
        ("ctr", "CTR %"),
        ("unsubscribes", "Unsubscribes"),
        ("bounces", "Bounces"),
        ("bot_clicks", "Bot clicks (excluded)"),
        ("pageviews", "Page views"),
        ("organic_visits", "Organic visits"),
    ]
    # Every column but the rate is a counter the rollups keep.
    assert {name for name, _ in METRIC_COLUMNS} - set(METRIC_FIELDS) == {"ctr"}
