"""What the Google and Baidu importers share: one outbound request through the guarded
client (channels.http: SSRF guard, time limit, every failure put in words), its JSON
read with a size limit, and the one error an import or a Test connection reports."""

import datetime
import json
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from channels.base import PublishError
from channels.http import guarded_client, send


class SearchImportError(Exception):
    """An answer we cannot use: the words are stored on the connection and shown on its
    screen. Nothing already imported is touched."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class QueryRow:
    """One query of one day, as an engine reports it."""

    day: datetime.date
    page_url: str  # "" where the engine reports for the whole site
    query: str
    clicks: int
    impressions: int | None = None
    position: float | None = None


@dataclass
class Fetched:
    """An import's rows and the days they fully describe (replaced on import)."""

    rows: list[QueryRow]
    days: set[datetime.date]


def client_for(connection) -> httpx.Client:
    return guarded_client(allow_internal=connection.is_internal)


def request_json(client: httpx.Client, method: str, url: str, **kwargs) -> dict:
    """Make the request and return its JSON object; any failure as SearchImportError."""
    try:
        response = send(client, method, url, may_create=False, **kwargs)
    except PublishError as exc:
        raise SearchImportError(_google_or_baidu_reason(exc)) from exc
    if len(response.content) > settings.OUTBOUND_HTTP_MAX_BYTES:
        raise SearchImportError(
            _("The answer of %(host)s is larger than %(limit)d bytes.")
            % {"host": httpx.URL(url).host, "limit": settings.OUTBOUND_HTTP_MAX_BYTES}
        )
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise SearchImportError(
            _("%(host)s answered with something that is not JSON: %(start)s")
            % {"host": httpx.URL(url).host, "start": response.text[:120]}
        ) from exc
    if not isinstance(data, dict):
        raise SearchImportError(
            _("%(host)s answered with JSON of an unexpected shape.") % {"host": httpx.URL(url).host}
        )
    return data


def _google_or_baidu_reason(exc: PublishError) -> str:
    """channels.http's words for the failure; a quota refusal said as such."""
    status = getattr(exc, "status_code", None)
    if status == 429:
        return _("The service's quota or rate limit is used up (429); the next import tries again.")
    return exc.message
