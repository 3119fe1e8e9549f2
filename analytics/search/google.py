"""Google Search Console's Search Analytics API: queries per page and day.

POST {api}/webmasters/v3/sites/{siteUrl}/searchAnalytics/query with
{"startDate", "endDate", "dimensions": ["page", "query", "date"], "rowLimit",
"startRow"}; the answer is {"rows": [{"keys": [page, query, date], "clicks",
"impressions", "ctr", "position"}], "responseAggregationType"}. Days without data are
left out of the answer; pages of rowLimit rows continue at startRow.

Authorised with an OAuth 2 bearer token from Google's token endpoint, got either from a
refresh token (grant_type=refresh_token with the OAuth client's id and secret) or from a
service account key (a JWT signed RS256, grant_type=jwt-bearer), scope
webmasters.readonly.
"""

import base64
import datetime
import json
import time
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.utils.translation import gettext as _

from .client import Fetched, QueryRow, SearchImportError, client_for, request_json

API_URL = "https://www.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/webmasters.readonly"
ROW_LIMIT = 25_000  # the API's largest page
MAX_PAGES = 20  # 500,000 rows an import at most: a bound, not a goal


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def service_account_assertion(key: dict, audience: str, now: float | None = None) -> str:
    """The signed JWT a service account exchanges for an access token."""
    now = int(now or time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    if key.get("private_key_id"):
        header["kid"] = key["private_key_id"]
    claims = {
        "iss": key["client_email"],
        "scope": SCOPE,
        "aud": audience,
        "iat": now,
        "exp": now + 3600,
    }
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}".encode()
    )
    private_key = serialization.load_pem_private_key(key["private_key"].encode(), password=None)
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{_b64(signature)}"


def access_token(connection, client) -> str:
    secrets = connection.secrets or {}
    token_url = connection.token_url or TOKEN_URL
    if secrets.get("service_account_key"):
        try:
            key = json.loads(secrets["service_account_key"])
            assertion = service_account_assertion(key, token_url)
        except (ValueError, KeyError, TypeError) as exc:
            raise SearchImportError(
                _("The service account key is not a Google JSON key file (%(error)s).")
                % {"error": type(exc).__name__}
            ) from exc
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    elif secrets.get("refresh_token"):
        form = {
            "grant_type": "refresh_token",
            "refresh_token": secrets["refresh_token"],
            "client_id": secrets.get("client_id", ""),
            "client_secret": secrets.get("client_secret", ""),
        }
    else:
        raise SearchImportError(_("Give a refresh token or a service account key to connect."))
    answer = request_json(client, "POST", token_url, data=form)
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise SearchImportError(_("Google's token endpoint answered without an access token."))
    return token


def query_url(connection) -> str:
    base = (connection.api_url or API_URL).rstrip("/")
    return f"{base}/webmasters/v3/sites/{quote(connection.site, safe='')}/searchAnalytics/query"


def fetch(
    connection, start: datetime.date, end: datetime.date, row_limit=None, max_pages=MAX_PAGES
) -> Fetched:
    """Every (page, query, day) row Google reports for start..end."""
    row_limit = row_limit or ROW_LIMIT
    rows: list[QueryRow] = []
    with client_for(connection) as client:
        headers = {"Authorization": f"Bearer {access_token(connection, client)}"}
        for page in range(max_pages):
            body = {
                "startDate": start.isoformat(),
                "endDate": end.isoformat(),
                "dimensions": ["page", "query", "date"],
                "rowLimit": row_limit,
                "startRow": page * row_limit,
            }
            answer = request_json(client, "POST", query_url(connection), json=body, headers=headers)
            batch = answer.get("rows") or []
            if not isinstance(batch, list):
                raise SearchImportError(_("Search Console's answer has no list of rows."))
            rows += [_row(item) for item in batch]
            if len(batch) < row_limit:
                break
    return Fetched(rows=rows, days={row.day for row in rows})


def _row(item) -> QueryRow:
    try:
        page_url, query, day = item["keys"]
        return QueryRow(
            day=datetime.date.fromisoformat(day),
            page_url=str(page_url)[:1000],
            query=str(query)[:300],
            clicks=int(item.get("clicks") or 0),
            impressions=int(item.get("impressions") or 0),
            position=float(item["position"]) if item.get("position") is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SearchImportError(
            _("Search Console sent a row we cannot read: %(row)s") % {"row": str(item)[:200]}
        ) from exc


def test(connection) -> str:
    """One small query over the last days: the words of a working connection."""
    end = datetime.date.today() - datetime.timedelta(days=3)
    fetched = fetch(connection, end - datetime.timedelta(days=6), end, row_limit=5, max_pages=1)
    return _("Search Console answered for %(site)s (%(n)d sample rows).") % {
        "site": connection.site,
        "n": len(fetched.rows),
    }
