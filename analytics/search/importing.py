"""Importing search queries through an analytics connection, and Test connection.

`import_connection` reads a window of days (the connection's backfill, up to
yesterday), maps each reported URL to the live hub page at that path, and replaces the
rows of the days the answer describes in one transaction: re-importing a day gives the
same rows, not twice as many. A bad answer (4xx/5xx, quota, timeout, malformed JSON)
changes no row; its words are stored on the connection and shown on its screen.
"""

import datetime
import logging
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Page

from . import baidu, google
from .client import Fetched, SearchImportError
from .models import ImportedSearchQuery, SearchConnection

logger = logging.getLogger(__name__)

ENGINES = {SearchConnection.Kind.GOOGLE: google, SearchConnection.Kind.BAIDU: baidu}
ENGINE_NAMES = {SearchConnection.Kind.GOOGLE: "google", SearchConnection.Kind.BAIDU: "baidu"}


def import_window(connection, today: datetime.date | None = None) -> tuple:
    """(first day, last day) an import reads: the backfill window up to yesterday."""
    today = today or timezone.now().date()
    end = today - datetime.timedelta(days=1)
    return end - datetime.timedelta(days=max(1, connection.backfill_days) - 1), end


def live_page_paths() -> dict[str, int]:
    """URL path (with its trailing slash) -> id of the live page served there."""
    paths = {}
    for page in Page.objects.live().specific(defer=True).iterator():
        parts = page.get_url_parts()
        if parts:
            paths.setdefault(_normal_path(parts[2]), page.pk)
    return paths


def _normal_path(url: str) -> str:
    path = urlsplit(url).path or "/"
    return path if path.endswith("/") else path + "/"


def import_connection(connection: SearchConnection, today: datetime.date | None = None) -> int:
    """Import the connection's window; returns the rows stored. Failures are recorded
    on the connection (and raised as SearchImportError) with no row changed."""
    start, end = import_window(connection, today)
    engine = ENGINES[connection.kind]
    now = timezone.now()
    try:
        fetched: Fetched = engine.fetch(connection, start, end)
    except SearchImportError as exc:
        SearchConnection.objects.filter(pk=connection.pk).update(
            last_run_at=now, last_error=exc.message
        )
        logger.warning("search import %s failed: %s", connection.pk, exc.message)
        raise
    paths = live_page_paths() if any(r.page_url for r in fetched.rows) else {}
    rows = [
        ImportedSearchQuery(
            connection=connection,
            engine=ENGINE_NAMES[connection.kind],
            day=row.day,
            page_id=paths.get(_normal_path(row.page_url), 0) if row.page_url else 0,
            page_url=row.page_url,
            query=row.query,
            clicks=row.clicks,
            impressions=row.impressions,
            position=row.position,
        )
        for row in fetched.rows
        if start <= row.day <= end
    ]
    with transaction.atomic():
        ImportedSearchQuery.objects.filter(
            connection=connection, day__in=sorted(fetched.days)
        ).delete()
        ImportedSearchQuery.objects.bulk_create(rows, batch_size=1000)
        SearchConnection.objects.filter(pk=connection.pk).update(
            last_run_at=now, last_success_at=now, last_error="", last_rows=len(rows)
        )
    return len(rows)


def import_all_active(today: datetime.date | None = None) -> dict[int, int | str]:
    """Import every active connection; one failing does not stop the others.
    Returns connection id -> rows stored, or the error's words."""
    outcome: dict[int, int | str] = {}
    for connection in SearchConnection.objects.filter(is_active=True).order_by("pk"):
        try:
            outcome[connection.pk] = import_connection(connection, today)
        except SearchImportError as exc:
            outcome[connection.pk] = exc.message
    return outcome


def try_connection(connection: SearchConnection) -> tuple[bool, str]:
    """Test connection: a small request with the stored credentials; nothing stored."""
    try:
        return True, ENGINES[connection.kind].test(connection)
    except SearchImportError as exc:
        return False, _("Connection failed: %(error)s") % {"error": exc.message}
