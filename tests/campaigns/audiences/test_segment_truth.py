"""Every segment condition, and random AND / OR combinations of them, against a brute-
force computation in Python over a few hundred random subscribers: tags, attributes,
languages, time zones, opens and clicks (some by bots), suppressions and several lists,
written in bulk (so the triggers that keep list_ids, suppressed and last_engaged_at are
exercised the way imports write). Runs on SQLite and, under CI, PostgreSQL."""

import datetime
import random

import pytest
from django.utils import timezone

from analytics.models import Event
from campaigns.audiences import services
from campaigns.audiences.models import Subscriber, Subscription, Suppression, normalise_tags

from .factories import MailingListFactory

NOW = timezone.now()
TAGS = ["vip", "trial", "wholesale", "b2b", "内部", "beta", "lapsed", "promo", "eu", "cn"]
CITIES = ["上海", "北京", "Berlin", "Bern", "Paris"]
PLANS = ["free", "pro", "team"]
ZONES = ["UTC", "Asia/Shanghai", "Europe/Berlin"]
PEOPLE = 300


@pytest.fixture
def world(db):
    rng = random.Random(19)
    lists = [MailingListFactory() for _ in range(3)]
    people = []
    for i in range(PEOPLE):
        attributes = {}
        if rng.random() < 0.8:
            attributes["city"] = rng.choice(CITIES)
        if rng.random() < 0.7:
            attributes["plan"] = rng.choice(PLANS)
        if rng.random() < 0.3:
            attributes["age"] = rng.choice([42, "42", 30, 42.5])
        people.append(
            {
                "email": f"Person{i}@Example.org",
                "tags": set(rng.sample(TAGS, rng.randint(0, 4))),
                "attributes": attributes,
                "language": rng.choice(["en", "zh-hans"]),
                "timezone": rng.choice(ZONES),
                # list index -> status
                "lists": {n: rng.choice(["subscribed", "pending", "unsubscribed"])
                          for n in range(3) if rng.random() < 0.7},
                "suppressed": rng.random() < 0.08,
                "events": [],
            }
        )  # fmt: skip
    rows = Subscriber.objects.bulk_create(
        [
            Subscriber(
                email=p["email"],
                language=p["language"],
                timezone=p["timezone"],
                attributes=p["attributes"],
                # Upper case and separators: stored normalised.
                tags=normalise_tags(";".join(t.upper() for t in p["tags"])),
            )
            for p in people
        ]
    )
    by_email = {s.email: s.pk for s in Subscriber.objects.all()}
    for p in people:
        p["pk"] = by_email[p["email"]]
    assert len(rows) == PEOPLE
    Subscription.objects.bulk_create(
        [
            Subscription(
                subscriber_id=p["pk"],
                mailing_list=lists[n],
                status="subscribed" if status == "unsubscribed" else status,
                consent_at=NOW,
                consent_method="import",
            )
            for p in people
            for n, status in p["lists"].items()
        ]
    )
    # Later status changes in bulk, as unsubscribe and imports do them.
    for n in range(3):
        left = [p["pk"] for p in people if p["lists"].get(n) == "unsubscribed"]
        Subscription.objects.filter(mailing_list=lists[n], subscriber_id__in=left).update(
            status="unsubscribed"
        )
    suppressed = [p for p in people if p["suppressed"]]
    for p in suppressed[::2]:  # through the service, in other case
        services.suppress_address(p["email"].lower(), "hard_bounce")
    Suppression.objects.bulk_create(
        [Suppression(email=p["email"].upper(), reason="manual") for p in suppressed[1::2]]
    )
    events = []
    for p in people:
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            kind = rng.choice(["open", "click", "send", "open"])
            at = NOW - datetime.timedelta(days=rng.choice([1, 5, 20, 45, 100, 400]) + 0.5)
            bot = rng.random() < 0.15
            p["events"].append((kind, at, bot))
            events.append(
                Event(
                    uid=f"e{len(events)}",
                    kind=kind,
                    occurred_at=at,
                    received_at=at,
                    publication_id=7,
                    message_key=f"7:s{p['pk']}",
                    is_bot=bot,
                    bot_reason="prefetch" if bot else "",
                )
            )
    Event.objects.bulk_create(events)
    return {"lists": lists, "people": people, "rng": rng}


def _engaged_at(person, kinds):
    times = [at for kind, at, bot in person["events"] if kind in kinds and not bot]
    return max(times) if times else None


def _attribute_equals(value: str, stored) -> bool:
    """The builder's typed value: the text itself, or the number it spells."""
    if stored == value:
        return True
    for cast in (int, float):
        try:
            return not isinstance(stored, str) and stored == cast(value)
        except ValueError:
            continue
    return False


def _truth(rule, person, lists) -> bool:
    field, op = rule["field"], rule["op"]
    if field == "list":
        list_index = next(n for n, ml in enumerate(lists) if ml.pk == int(rule["value"]))
        result = person["lists"].get(list_index) == "subscribed"
    elif field == "tag":
        result = rule["value"] in person["tags"]
    elif field == "attribute":
        if rule["key"] not in person["attributes"]:
            return False
        stored = person["attributes"][rule["key"]]
        if op == "contains":
            return rule["value"].lower() in str(stored).lower()
        return _attribute_equals(rule["value"], stored)
    elif field == "engagement":
        if op == "never":
            return _engaged_at(person, {"open", "click"}) is None
        kinds = {"opened": {"open"}, "clicked": {"click"}, "engaged": {"open", "click"}}[op]
        at = _engaged_at(person, kinds)
        return at is not None and at >= NOW - datetime.timedelta(days=int(rule["days"]))
    else:
        result = person[field] == rule["value"]
    return not result if op == "is_not" else result


def _random_rule(rng, lists) -> dict:
    field = rng.choice(["list", "tag", "attribute", "engagement", "language", "timezone"])
    if field == "list":
        return {"field": field, "op": rng.choice(["is", "is_not"]),
                "value": str(rng.choice(lists).pk)}  # fmt: skip
    if field == "tag":
        return {"field": field, "op": rng.choice(["is", "is_not"]),
                "value": rng.choice([*TAGS, "none-such"])}  # fmt: skip
    if field == "attribute":
        key, value = rng.choice(
            [("city", rng.choice(CITIES)), ("plan", rng.choice(PLANS)), ("age", "42"),
             ("age", "42.5"), ("city", "nowhere")]
        )  # fmt: skip
        if rng.random() < 0.3:
            return {"field": field, "op": "contains", "key": "city",
                    "value": rng.choice(["ber", "海", "PAR"])}  # fmt: skip
        return {"field": field, "op": "equals", "key": key, "value": value}
    if field == "engagement":
        return {"field": field, "op": rng.choice(["opened", "clicked", "engaged", "never"]),
                "days": str(rng.choice([3, 30, 60, 365]))}  # fmt: skip
    if field == "language":
        return {"field": field, "op": rng.choice(["is", "is_not"]),
                "value": rng.choice(["en", "zh-hans"])}  # fmt: skip
    return {"field": field, "op": rng.choice(["is", "is_not"]), "value": rng.choice(ZONES)}


def _expected(world, mailing_list, rules, match) -> set[int]:
    lists = world["lists"]
    index = lists.index(mailing_list)
    found = set()
    for person in world["people"]:
        if person["lists"].get(index) != "subscribed" or person["suppressed"]:
            continue
        results = [_truth(rule, person, lists) for rule in rules]
        if not rules or (all(results) if match == "all" else any(results)):
            found.add(person["pk"])
    return found


def _actual(mailing_list, filters) -> set[int]:
    qs = services.apply_filters(services.list_audience(mailing_list), filters, now=NOW)
    return set(qs.values_list("pk", flat=True))


def test_stored_columns_mirror_their_tables(world):
    """list_ids, suppressed and last_engaged_at, kept by triggers, say what the
    subscription, suppression and event tables say."""
    lists = world["lists"]
    for person in world["people"]:
        row = Subscriber.objects.get(pk=person["pk"])
        wanted = sorted(lists[n].pk for n, s in person["lists"].items() if s == "subscribed")
        assert row.list_ids == wanted
        assert row.suppressed is person["suppressed"]
        assert row.tags == sorted(person["tags"])
        assert row.tag_list == sorted(person["tags"])
        engaged = _engaged_at(person, {"open", "click"})
        assert row.last_engaged_at == engaged


def test_every_condition_alone_matches_brute_force(world):
    rng, lists = world["rng"], world["lists"]
    rules = [_random_rule(rng, lists) for _ in range(80)]
    for rule in rules:
        for mailing_list in lists:
            expected = _expected(world, mailing_list, [rule], "all")
            assert _actual(mailing_list, {"match": "all", "rules": [rule]}) == expected, rule


def test_and_or_combinations_match_brute_force(world):
    rng, lists = world["rng"], world["lists"]
    checked_nonempty = 0
    for _ in range(60):
        match = rng.choice(["all", "any"])
        rules = [_random_rule(rng, lists) for _ in range(rng.randint(2, 4))]
        mailing_list = rng.choice(lists)
        expected = _expected(world, mailing_list, rules, match)
        filters = {"match": match, "rules": rules}
        assert _actual(mailing_list, filters) == expected, filters
        count = services.audience_count(mailing_list=mailing_list, filters=filters)
        estimate = services.estimate_count(mailing_list=mailing_list, filters=filters)
        # audience_count uses the clock; our events sit half a day from every boundary.
        assert count == len(expected)
        assert estimate == (len(expected), True)  # small: always counted exactly
        checked_nonempty += bool(expected)
    assert checked_nonempty > 20  # the combinations were not trivially empty


def test_legacy_keys_match_brute_force(world):
    lists = world["lists"]
    people = world["people"]
    mailing_list = lists[0]
    base = _expected(world, mailing_list, [], "all")
    by_pk = {p["pk"]: p for p in people}
    cases = [
        ({"tags_all": ["VIP", "trial"]}, lambda p: {"vip", "trial"} <= p["tags"]),
        ({"tags_any": "b2b;内部"}, lambda p: bool({"b2b", "内部"} & p["tags"])),
        ({"attributes": {"city": "上海"}}, lambda p: p["attributes"].get("city") == "上海"),
        ({"lists": [lists[1].pk]}, lambda p: p["lists"].get(1) == "subscribed"),
        (
            {"engagement": "engaged", "days": 30},
            lambda p: (
                (_engaged_at(p, {"open", "click"}) or NOW - datetime.timedelta(999))
                >= NOW - datetime.timedelta(days=30)
            ),
        ),
        ({"engagement": "never"}, lambda p: _engaged_at(p, {"open", "click"}) is None),
        (
            {"engagement": "lapsed", "days": 30},
            lambda p: (
                _engaged_at(p, {"open", "click"}) is not None
                and _engaged_at(p, {"open", "click"}) < NOW - datetime.timedelta(days=30)
            ),
        ),
    ]
    for filters, keep in cases:
        expected = {pk for pk in base if keep(by_pk[pk])}
        assert _actual(mailing_list, filters) == expected, filters
        assert expected, filters  # each case selects someone


def test_mailable_ids_follow_status_and_suppression_changes(world):
    mailing_list = world["lists"][0]
    audience = _expected(world, mailing_list, [], "all")
    some = sorted(audience)[:20]
    assert services.mailable_ids(mailing_list, some) == set(some)
    first, second = Subscriber.objects.filter(pk__in=some[:2]).order_by("pk")
    services.unsubscribe(first, mailing_list)
    services.suppress_address(second.email.swapcase(), "complaint")
    assert services.mailable_ids(mailing_list, some) == set(some[2:])
    Suppression.objects.filter(email__iexact=second.email).delete()
    assert services.mailable_ids(mailing_list, some) == set(some[1:])
    assert services.audience_count(mailing_list=mailing_list) == len(audience) - 1


def _sampled_ids() -> set[int]:
    """The subscribers the standing sample should hold, by its definition."""
    from django.db import connection

    from campaigns.audiences import sample

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM audiences_subscriber WHERE {sample.in_sample_sql('id')}")
        return {row[0] for row in cursor.fetchall()}


def test_the_sample_answers_every_combination_like_its_people(world):
    """On PostgreSQL the standing sample, kept by row triggers through the bulk writes,
    list and suppression changes and events of the world, matches each combination
    exactly as its own people do in the brute force."""
    from django.db import connection

    from campaigns.audiences import estimates

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no sample: it always counts exactly")
    rng, lists = world["rng"], world["lists"]
    sampled = _sampled_ids()
    assert sampled  # about 1 in 32 of the people
    # Later changes reach the sample too: a tag added, a person deleted.
    person = Subscriber.objects.get(pk=min(sampled))
    person.tags = [*person.tags, "promo"]
    person.save()
    world["people"] = [p for p in world["people"] if p["pk"] != max(sampled)]
    Subscriber.objects.filter(pk=max(sampled)).delete()
    for p in world["people"]:
        if p["pk"] == person.pk:
            p["tags"].add("promo")
    sampled = _sampled_ids()
    checked_nonempty = 0
    for _ in range(60):
        match = rng.choice(["all", "any"])
        rules = [_random_rule(rng, lists) for _ in range(rng.randint(1, 3))]
        mailing_list = rng.choice(lists)
        expected = _expected(world, mailing_list, rules, match) & sampled
        filters = {"match": match, "rules": rules}
        qs = services.apply_filters(services.list_audience(mailing_list), filters)
        assert estimates.sample_matches(qs) == len(expected), filters
        checked_nonempty += bool(expected)
    assert checked_nonempty > 5


def test_live_estimate_scales_the_sample_or_counts_exactly(world, monkeypatch):
    """On a big table (PostgreSQL) the live count scales what matched in the sample
    and says "about"; with too few matches to scale, it counts exactly."""
    from django.db import connection

    from campaigns.audiences import estimates, sample

    if connection.vendor != "postgresql":
        pytest.skip("SQLite always counts exactly")
    sampled = _sampled_ids()
    # The list with the most of its audience in the sample (about 1 in 32 of them).
    mailing_list = max(world["lists"], key=lambda m: len(_expected(world, m, [], "all") & sampled))
    expected = _expected(world, mailing_list, [], "all")
    in_sample = len(expected & sampled)
    assert in_sample
    audience = services.list_audience(mailing_list)
    # Small table: exact within the budget.
    assert estimates.estimate(audience) == (len(expected), True)
    # As if it held millions (the statistics say -1 rows before the first ANALYZE).
    monkeypatch.setattr(estimates, "EXACT_TABLE_ROWS", -1)
    monkeypatch.setattr(estimates, "MIN_SAMPLE_MATCHES", 1)
    assert estimates.estimate(audience) == (round(in_sample / sample.SHARE), False)
    # Too few matches to scale: counted exactly after all.
    monkeypatch.setattr(estimates, "MIN_SAMPLE_MATCHES", 10_000)
    assert estimates.estimate(audience) == (len(expected), True)
    # A count that runs out of time: the scaled sample, and no timeout left behind.
    slow = audience.extra(where=["pg_sleep(0.001) IS NOT NULL"])
    monkeypatch.setattr(estimates, "SMALL_SEGMENT_MS", 5)
    assert estimates.estimate(slow) == (round(in_sample / sample.SHARE), False)
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
    assert services.audience_count(mailing_list=mailing_list) == len(expected)
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == jit  # the count's settings were its own
