"""Personal data rights (PIPL, GDPR): one person's data exported, or erased, and logged.

- `export_data(subscriber)`: {"subscriber": [the row], "<provider>.<table>": [rows]...},
  the subscriber first, then every registered provider's tables
  (campaigns.people.registry.providers()). `export_json` and `export_csv_zip` write it
  (the zip holds one CSV per table: UTF-8 with a byte order mark, formula-safe cells, as
  the landing pages' export does).
- `erase(subscriber, user)`: in one transaction, every provider's erase, then the
  subscriber row deleted and the address kept only as its keyed hash on the
  suppression list (campaigns/audiences/erased.py), so nothing mails them again.
- Each is logged as a DataRightsRequest with the address's hash, never the address.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

from django.db import transaction
from django.utils import timezone

from campaigns.audiences.erased import erased_key, record_erased
from campaigns.audiences.models import Subscriber
from campaigns.leads.exports import BOM, spreadsheet_safe
from channels.email.models import Delivery

from .models import DataRightsRequest
from .registry import providers
from .rights_data import blank_deliveries, subscriber_row


def export_data(subscriber: Subscriber) -> dict[str, list[dict]]:
    data: dict[str, list[dict]] = {"subscriber": [subscriber_row(subscriber)]}
    for provider in providers():
        for table, table_rows in (provider.export(subscriber) or {}).items():
            data[f"{provider.name}.{table}"] = list(table_rows)
    return data


def _log(action: str, subscriber: Subscriber, user, data: dict) -> DataRightsRequest:
    return DataRightsRequest.objects.create(
        action=action,
        subscriber_id=subscriber.pk,
        person_key=erased_key(subscriber.email),
        requested_by=user if getattr(user, "is_authenticated", False) else None,
        counts={table: len(table_rows) for table, table_rows in data.items()},
    )


def filename(subscriber: Subscriber, extension: str) -> str:
    # ASCII only: the address may be Chinese, and it has no business in a file name.
    return f"person-{subscriber.pk}-{timezone.now():%Y-%m-%d}.{extension}"


def export_json(subscriber: Subscriber, user=None) -> bytes:
    data = export_data(subscriber)
    _log(DataRightsRequest.Action.EXPORT_JSON, subscriber, user, data)
    document = {"exported_at": timezone.now().isoformat(), "tables": data}
    return json.dumps(document, ensure_ascii=False, indent=2, default=str).encode()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, default=str)
    return spreadsheet_safe(str(value))


def table_csv(table_rows: list[dict]) -> bytes:
    columns: list[str] = []
    for row in table_rows:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in table_rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def export_csv_zip(subscriber: Subscriber, user=None) -> bytes:
    data = export_data(subscriber)
    _log(DataRightsRequest.Action.EXPORT_CSV, subscriber, user, data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table, table_rows in data.items():
            archive.writestr(f"{table}.csv", table_csv(table_rows))
    return buffer.getvalue()


def erase(subscriber: Subscriber, user=None) -> DataRightsRequest:
    """Erase everything personal about `subscriber`; returns the log entry."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        counts = {
            f"{p.name}.{table}": len(table_rows)
            for p in providers()
            for table, table_rows in (p.export(subscriber) or {}).items()
        }
        for provider in providers():
            provider.erase(subscriber)
        record_erased(subscriber.email)
        entry = DataRightsRequest.objects.create(
            action=DataRightsRequest.Action.ERASE,
            subscriber_id=subscriber.pk,
            person_key=erased_key(subscriber.email),
            requested_by=user if getattr(user, "is_authenticated", False) else None,
            counts={"subscriber": 1, **counts},
        )
        subscriber.delete()
        # A send frozen in parallel (channels/email/audience.py does not lock
        # subscribers) may have written a row for them after the email provider ran:
        # blank it as that provider does.
        blank_deliveries(Delivery.objects.filter(email__iexact=subscriber.email))
    return entry
