"""The demo data (`manage.py load_demo`): seeded once, and a second run creates nothing."""

from analytics.demo import DEMO_CAMPAIGNS, load_analytics_demo
from analytics.models import DailyRollup, Event
from content.demo import load_content


def test_demo_is_seeded_once(db):
    load_content()
    counts = load_analytics_demo()
    assert counts["campaigns"] == len(DEMO_CAMPAIGNS)
    assert counts["publications"] == 15 and counts["tracked links"] == 36
    assert counts["events"] == Event.objects.count() > 1000
    assert counts["SEO analyses"] > 0
    assert DailyRollup.objects.exists()
    assert set(Event.objects.values_list("kind", flat=True)) >= {"send", "click", "pageview"}
    again = load_analytics_demo()
    assert again == dict.fromkeys(counts, 0)
