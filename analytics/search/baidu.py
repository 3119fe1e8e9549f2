"""Baidu Tongji's report API: the search words that brought visitors, per day.

GET {api}/rest/2.0/tongji/report/getData?access_token&site_id&method=source/searchword/a
&start_date=YYYYMMDD&end_date=YYYYMMDD&metrics=pv_count,visit_count&start_index&max_results
answers {"result": {"fields": [...], "items": [[[{"name": word}], ...], [[pv, visits],
...], [], []], "sum", "total"}}; a refusal is {"error_code", "error_msg"} (110/111: the
access token is invalid or expired; 17/18/19: daily quota, rate or call limit).

The search-word report covers the whole site (Baidu names no landing page for a word),
so its rows are kept with page_id 0 and shown for the site. Each day is asked for on
its own so rows carry their day. "clicks" holds the visits a word brought (Baidu
reports neither impressions nor positions). Access tokens last 30 days; with the API
key, secret key and refresh token stored, an expired one is refreshed once (Baidu hands
out a new refresh token each time, kept at once).
"""

import datetime

from django.utils.translation import gettext as _

from .client import Fetched, QueryRow, SearchImportError, client_for, request_json

API_URL = "https://openapi.baidu.com"
TOKEN_URL = "https://openapi.baidu.com/oauth/2.0/token"
METHOD = "source/searchword/a"
METRICS = "pv_count,visit_count"
PAGE_SIZE = 1000
MAX_PAGES = 20
TOKEN_ERRORS = {110, 111}
QUOTA_ERRORS = {17, 18, 19}


class _TokenExpired(Exception):
    pass


def report_url(connection) -> str:
    return (connection.api_url or API_URL).rstrip("/") + "/rest/2.0/tongji/report/getData"


def refresh_access_token(connection, client) -> str:
    secrets = connection.secrets or {}
    if not (secrets.get("refresh_token") and secrets.get("client_id")):
        raise SearchImportError(
            _(
                "Baidu refused the access token (expired or invalid); store a new one, or the "
                "API key, secret key and refresh token so it is renewed."
            )
        )
    answer = request_json(
        client,
        "GET",
        connection.token_url or TOKEN_URL,
        params={
            "grant_type": "refresh_token",
            "refresh_token": secrets["refresh_token"],
            "client_id": secrets["client_id"],
            "client_secret": secrets.get("client_secret", ""),
        },
    )
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise SearchImportError(
            _("Baidu's token endpoint refused the refresh token: %(error)s")
            % {"error": answer.get("error_description") or answer.get("error") or answer}
        )
    connection.secrets = {
        **secrets,
        "access_token": token,
        "refresh_token": answer.get("refresh_token") or secrets["refresh_token"],
    }
    # Saved at once: Baidu has already invalidated the old refresh token.
    connection.save(update_fields=["secrets"])
    return token


def _report(client, connection, token: str, day: datetime.date, start_index: int, size: int):
    answer = request_json(
        client,
        "GET",
        report_url(connection),
        params={
            "access_token": token,
            "site_id": connection.site,
            "method": METHOD,
            "start_date": day.strftime("%Y%m%d"),
            "end_date": day.strftime("%Y%m%d"),
            "metrics": METRICS,
            "start_index": start_index,
            "max_results": size,
        },
    )
    if answer.get("error_code") is not None:
        code = answer.get("error_code")
        if code in TOKEN_ERRORS:
            raise _TokenExpired
        words = {"code": code, "error": answer.get("error_msg") or ""}
        if code in QUOTA_ERRORS:
            raise SearchImportError(
                _(
                    "Baidu Tongji's quota is used up (%(code)s: %(error)s); the next import "
                    "tries again."
                )
                % words
            )
        raise SearchImportError(
            _("Baidu Tongji refused the request (%(code)s: %(error)s).") % words
        )
    return _rows(answer.get("result"), day)


def _rows(result, day: datetime.date) -> tuple[list[QueryRow], int]:
    """(rows, total words) of one answer."""
    if not isinstance(result, dict):
        raise SearchImportError(_("Baidu Tongji's answer has no result."))
    try:
        fields = result.get("fields") or []
        items = result.get("items") or [[], []]
        words, figures = items[0], items[1]
        visits_at = fields.index("visit_count") - 1 if "visit_count" in fields else 1
        rows = []
        for word, values in zip(words, figures, strict=True):
            name = word[0]["name"] if isinstance(word, list) else word["name"]
            visits = values[visits_at]
            rows.append(
                QueryRow(
                    day=day,
                    page_url="",
                    query=str(name)[:300],
                    clicks=int(visits) if visits not in (None, "--", "") else 0,
                )
            )
        return rows, int(result.get("total") or len(rows))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SearchImportError(
            _("Baidu Tongji sent a report we cannot read (%(error)s).")
            % {"error": type(exc).__name__}
        ) from exc


def fetch(
    connection, start: datetime.date, end: datetime.date, page_size=PAGE_SIZE, max_pages=MAX_PAGES
) -> Fetched:
    rows: list[QueryRow] = []
    days: set[datetime.date] = set()
    with client_for(connection) as client:
        token = (connection.secrets or {}).get("access_token", "")
        refreshed = False
        day = start
        while day <= end:
            page = 0
            day_rows: list[QueryRow] = []
            while page < max_pages:
                try:
                    batch, total = _report(
                        client, connection, token, day, page * page_size, page_size
                    )
                except _TokenExpired:
                    if refreshed:
                        raise SearchImportError(
                            _("Baidu refused the access token it just renewed.")
                        ) from None
                    token, refreshed = refresh_access_token(connection, client), True
                    continue
                day_rows += batch
                page += 1
                if len(batch) < page_size or len(day_rows) >= total:
                    break
            rows += day_rows
            days.add(day)
            day += datetime.timedelta(days=1)
    return Fetched(rows=rows, days=days)


def test(connection) -> str:
    day = datetime.date.today() - datetime.timedelta(days=1)
    fetched = fetch(connection, day, day, page_size=5, max_pages=1)
    return _("Baidu Tongji answered for site %(site)s (%(n)d sample words).") % {
        "site": connection.site,
        "n": len(fetched.rows),
    }
