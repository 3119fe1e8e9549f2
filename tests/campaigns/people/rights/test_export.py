"""Export (issue 21, point 5): one person's data as JSON and as a zip of CSV files, the
subscriber first, then every provider's tables with the person's rows (subscriptions
with consent, form answers, conversions, deliveries, events, import lines); hostile
names and answers (the naughty strings) come back as they were, and CSV cells cannot
run formulas. Each export is logged with the address's hash only."""

import csv
import io
import json
import zipfile

import pytest

from campaigns.audiences.erased import erased_key
from campaigns.audiences.models import Subscriber
from campaigns.leads.exports import spreadsheet_safe
from campaigns.leads.models import LeadSubmission
from campaigns.people import rights
from campaigns.people.models import DataRightsRequest

from .conftest import EMAIL, NAME, PHONE

pytestmark = pytest.mark.django_db


def read_zip(content: bytes) -> dict[str, list[dict]]:
    tables = {}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            raw = archive.read(name)
            assert raw.startswith("\ufeff".encode()), name  # Excel reads it as UTF-8
            text = raw.decode("utf-8")[1:]
            tables[name.removesuffix(".csv")] = list(csv.DictReader(io.StringIO(text, newline="")))
    return tables


def test_json_and_csv_hold_every_table_of_the_person(world):
    person = world["person"]
    data = json.loads(rights.export_json(person))["tables"]
    assert list(data)[0] == "subscriber"
    assert data["subscriber"][0]["email"] == person.email
    assert data["subscriber"][0]["attributes"]["phone"] == PHONE
    expected = {
        "audiences-rights.subscriptions": 1,
        "audiences-rights.imports": 1,
        "leads-rights.form_submissions": 1,
        "leads-rights.conversions": 1,
        "email-rights.deliveries": 1,
        # send, delivery, open, click
        "analytics-rights.events": 4,
    }
    assert {t: len(data[t]) for t in expected} == expected
    # The import subscribed them: the history says so, with its consent basis.
    history = data["audiences-rights.subscription_history"]
    assert [h["kind"] for h in history] == ["subscribed"]
    assert history[0]["mailing_list__name"] and "@" not in str(history[0]["detail"])
    subscription = data["audiences-rights.subscriptions"][0]
    assert subscription["consent_basis"] == "Signed at the fair" and subscription["consent_at"]
    assert data["leads-rights.form_submissions"][0]["form_data"]["full_name"] == NAME
    assert data["audiences-rights.imports"][0]["line"].lower().startswith(EMAIL.lower())
    assert {e["kind"] for e in data["analytics-rights.events"]} == {
        "send",
        "delivery",
        "open",
        "click",
    }
    # Nobody else's rows.
    assert all(d["email"] == person.email for d in data["email-rights.deliveries"])

    tables = read_zip(rights.export_csv_zip(person))
    assert set(tables) == set(data)
    assert {t: len(tables[t]) for t in expected} == expected
    assert tables["subscriber"][0]["name"] == NAME
    log = list(DataRightsRequest.objects.order_by("pk").values_list("action", "person_key"))
    key = erased_key(EMAIL)
    assert log == [("export_json", key), ("export_csv", key)]
    assert EMAIL.lower() not in str(list(DataRightsRequest.objects.values())).lower()


def test_hostile_names_and_answers_survive_both_exports(world, naughty_strings):
    person = world["person"]
    strings = [s for s in naughty_strings if s and "\x00" not in s][:200]
    strings += ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-1+1", "@import", "\tx", "\r\nnew line"]
    submission = LeadSubmission.objects.get(subscriber=person)
    for hostile in strings:
        Subscriber.objects.filter(pk=person.pk).update(
            name=hostile[:200], attributes={"note": hostile}
        )
        LeadSubmission.objects.filter(pk=submission.pk).update(form_data={"message": hostile})
        person.refresh_from_db()
        data = json.loads(rights.export_json(person))["tables"]
        assert data["subscriber"][0]["name"] == hostile[:200]
        assert data["subscriber"][0]["attributes"] == {"note": hostile}
        assert data["leads-rights.form_submissions"][0]["form_data"] == {"message": hostile}
        tables = read_zip(rights.export_csv_zip(person))
        row = tables["subscriber"][0]
        assert row["name"] == spreadsheet_safe(hostile[:200])
        assert json.loads(row["attributes"].removeprefix("'")) == {"note": hostile}
        answers = tables["leads-rights.form_submissions"][0]["form_data"]
        assert json.loads(answers) == {"message": hostile}
