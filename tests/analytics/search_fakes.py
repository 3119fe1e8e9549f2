"""Loopback fakes of Google Search Console's Search Analytics API (with Google's OAuth
token endpoint) and Baidu Tongji's report API (with Baidu's OAuth token endpoint),
written from their documented requests and answers (see analytics/search/google.py and
baidu.py for the shapes). Served by tests.channels.loopback.LoopbackServer."""

from __future__ import annotations

import base64
import json
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.channels.loopback import FakeService, Reply, Request


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeSearchConsole(FakeService):
    """POST /token (refresh_token or jwt-bearer grant) and POST
    /webmasters/v3/sites/{siteUrl}/searchAnalytics/query (bearer token)."""

    def __init__(self, site="https://hub.example/", refresh_token="r-1", public_key=None):
        super().__init__()
        self.site = site
        self.refresh_token = refresh_token
        self.public_key = public_key  # a service account's, to check the JWT's signature
        self.tokens: set[str] = set()
        self.rows: list[
            dict
        ] = []  # {"keys": [page, query, date], clicks, impressions, ctr, position}
        self.queries: list[dict] = []

    def handle(self, request: Request) -> Reply:
        if request.path == "/token" and request.method == "POST":
            return self._token(request.form())
        marker = "/webmasters/v3/sites/"
        if request.path.startswith(marker) and request.path.endswith("/searchAnalytics/query"):
            site = unquote(request.path[len(marker) : -len("/searchAnalytics/query")])
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if bearer not in self.tokens:
                return Reply(
                    401,
                    {
                        "error": {
                            "code": 401,
                            "message": "Invalid Credentials",
                            "status": "UNAUTHENTICATED",
                        }
                    },
                )
            if site != self.site:
                return Reply(
                    403,
                    {
                        "error": {
                            "code": 403,
                            "message": f"User does not have sufficient permission for site '{site}'.",
                            "status": "PERMISSION_DENIED",
                        }
                    },
                )
            return self._query(request.json())
        return Reply(404, {"error": {"code": 404, "message": "Not Found"}})

    def _token(self, form: dict) -> Reply:
        grant = form.get("grant_type")
        if grant == "refresh_token" and form.get("refresh_token") == self.refresh_token:
            return self._issue()
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" and self._valid_jwt(
            form.get("assertion", "")
        ):
            return self._issue()
        return Reply(400, {"error": "invalid_grant", "error_description": "Bad Request"})

    def _valid_jwt(self, assertion: str) -> bool:
        if self.public_key is None:
            return False
        try:
            header, claims, signature = assertion.split(".")
            self.public_key.verify(
                _unb64(signature),
                f"{header}.{claims}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (ValueError, InvalidSignature):
            return False
        body = json.loads(_unb64(claims))
        return body.get("scope") == "https://www.googleapis.com/auth/webmasters.readonly"

    def _issue(self) -> Reply:
        token = f"ya29.t{len(self.tokens) + 1}"
        self.tokens.add(token)
        return Reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _query(self, body: dict) -> Reply:
        self.queries.append(body)
        if body.get("dimensions") != ["page", "query", "date"]:
            return Reply(400, {"error": {"code": 400, "message": "bad dimensions"}})
        start, end = body["startDate"], body["endDate"]
        matching = [r for r in self.rows if start <= r["keys"][2] <= end]
        matching.sort(key=lambda r: -r["clicks"])
        first = body.get("startRow", 0)
        page = matching[first : first + body.get("rowLimit", 1000)]
        answer = {"responseAggregationType": "byPage"}
        if page:  # Google leaves "rows" out when there are none
            answer["rows"] = page
        return Reply(200, answer)


class FakeTongji(FakeService):
    """GET /oauth/2.0/token (refresh_token grant; each refresh hands out a new refresh
    token) and GET /rest/2.0/tongji/report/getData (method=source/searchword/a)."""

    def __init__(self, site_id="16800000", access_token="121.a", refresh_token="122.r"):
        super().__init__()
        self.site_id = site_id
        self.access_tokens = {access_token}
        self.refresh_token = refresh_token
        self.client = ("api-key", "secret-key")
        self.words: dict[str, list[tuple[str, int, int]]] = {}  # YYYYMMDD -> (word, pv, visits)
        self.refreshes = 0

    def handle(self, request: Request) -> Reply:
        if request.path == "/oauth/2.0/token":
            q = request.query
            if (
                q.get("grant_type") == "refresh_token"
                and q.get("refresh_token") == self.refresh_token
                and (q.get("client_id"), q.get("client_secret")) == self.client
            ):
                self.refreshes += 1
                token, self.refresh_token = f"121.n{self.refreshes}", f"122.n{self.refreshes}"
                self.access_tokens = {token}
                return Reply(
                    200,
                    {
                        "access_token": token,
                        "expires_in": 2592000,
                        "refresh_token": self.refresh_token,
                        "scope": "basic",
                    },
                )
            return Reply(
                400, {"error": "expired_token", "error_description": "refresh token has been used"}
            )
        if request.path == "/rest/2.0/tongji/report/getData":
            return self._report(request.query)
        return Reply(404, {"error_code": 3, "error_msg": "Unsupported openapi method"})

    def _report(self, q: dict) -> Reply:
        if q.get("access_token") not in self.access_tokens:
            return Reply(200, {"error_code": 111, "error_msg": "Access token expired"})
        if q.get("site_id") != self.site_id or q.get("method") != "source/searchword/a":
            return Reply(200, {"error_code": 100, "error_msg": "Invalid parameter"})
        if q.get("start_date") != q.get("end_date"):
            return Reply(200, {"error_code": 100, "error_msg": "one day at a time in this fake"})
        words = self.words.get(q["start_date"], [])
        first, size = int(q.get("start_index", 0)), int(q.get("max_results", 20))
        page = words[first : first + size]
        fields = ["searchword_title", *q["metrics"].split(",")]
        return Reply(
            200,
            {
                "result": {
                    "total": len(words),
                    "fields": fields,
                    "items": [
                        [[{"name": w}] for w, _pv, _v in page],
                        [[pv, v] for _w, pv, v in page],
                        [],
                        [],
                    ],
                    "sum": [[sum(pv for _w, pv, _v in words), sum(v for *_r, v in words)], []],
                    "timeSpan": [q["start_date"]],
                }
            },
        )
