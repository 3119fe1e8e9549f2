"""The change log of a person's lists, tags and suppression (AudienceChange).

The services that change a subscription, a person's tags or the suppression list call
`record` once per change, in their own transaction; an import writes one row per person
it subscribed, set-based. Nothing here is called by a database trigger. `detail` never
holds an address: the source, the consent method and text, tags, the import's id.
"""

from __future__ import annotations

import datetime
import json

from django.db import connection
from django.utils import timezone

from .models import AudienceChange, Subscriber, Subscription

Kind = AudienceChange.Kind


def record(
    subscriber_id: int,
    kind: str,
    *,
    mailing_list_id: int | None = None,
    detail: dict | None = None,
    actor=None,
    at: datetime.datetime | None = None,
) -> AudienceChange:
    return AudienceChange.objects.create(
        subscriber_id=subscriber_id,
        kind=kind,
        mailing_list_id=mailing_list_id,
        detail=detail or {},
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        at=at or timezone.now(),
    )


def consent_detail(subscription: Subscription, source: str = "") -> dict:
    detail = {"source": source or subscription.consent_method}
    detail["method"] = subscription.consent_method
    if subscription.consent_text:
        detail["consent_text"] = subscription.consent_text
    if subscription.consent_basis:
        detail["basis"] = subscription.consent_basis
    return detail


def import_detail(job) -> dict:
    return {
        "source": "import",
        "import": job.pk,
        "method": Subscription.Method.IMPORT,
        "basis": job.consent_basis,
    }


def record_import_staged(cursor, job, now: datetime.datetime, subscribed: str) -> None:
    """PostgreSQL import: one INSERT ... SELECT, one row per person the import
    subscribed, from `subscribed`, a table of their subscriber ids (the subscriptions
    the import created, as their INSERT returned them: people already on the list keep
    an older consent and get none). Reading the ids back from the addresses cost two
    index probes a row."""
    cursor.execute(
        f"INSERT INTO {AudienceChange._meta.db_table}"
        " (subscriber_id, at, kind, mailing_list_id, detail, actor_id)"
        " SELECT id, %(now)s, %(kind)s, %(list)s, %(detail)s::jsonb, %(actor)s::integer"
        f" FROM {subscribed}",
        {
            "now": now,
            "kind": Kind.SUBSCRIBED,
            "list": job.mailing_list_id,
            "detail": json.dumps(import_detail(job)),
            "actor": job.created_by_id,
        },
    )


def record_import_plain(job, since: datetime.datetime) -> None:
    """The plain path (SQLite, or PostgreSQL told so): one row per subscription of the
    job's list this import created (method import, consent from `since` on, none logged
    at that consent yet); one INSERT ... SELECT as well."""
    made = Subscription.objects.filter(
        mailing_list_id=job.mailing_list_id,
        consent_method=Subscription.Method.IMPORT,
        consent_at__gte=since,
    )
    table = AudienceChange._meta.db_table
    pg = connection.vendor == "postgresql"
    as_json, as_id = ("CAST(%s AS jsonb)", "CAST(%s AS integer)") if pg else ("%s", "%s")
    sql, params = made.values_list("subscriber_id", "consent_at").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (subscriber_id, at, kind, mailing_list_id, detail, actor_id)"
            f" SELECT m.subscriber_id, m.consent_at, %s, %s, {as_json}, {as_id}"
            f" FROM ({sql}) m"
            f" WHERE NOT EXISTS (SELECT 1 FROM {table} c WHERE c.subscriber_id ="
            " m.subscriber_id AND c.mailing_list_id = %s AND c.at = m.consent_at)",
            [
                Kind.SUBSCRIBED,
                job.mailing_list_id,
                json.dumps(import_detail(job)),
                job.created_by_id,
                *params,
                job.mailing_list_id,
            ],
        )


def tags_changed(subscriber: Subscriber, before, after, *, actor=None, source: str = "admin"):
    """Log the tags added and removed between two tag lists (one row for each that
    is not empty)."""
    before, after = set(before or []), set(after or [])
    now = timezone.now()
    for kind, tags in ((Kind.TAGS_ADDED, after - before), (Kind.TAGS_REMOVED, before - after)):
        if tags:
            detail = {"tags": sorted(tags), "source": source}
            record(subscriber.pk, kind, detail=detail, actor=actor, at=now)
