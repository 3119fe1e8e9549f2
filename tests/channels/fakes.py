"""Fakes of the documented APIs (paths, headers, bodies, error shapes)."""

from __future__ import annotations

import base64
import html
import itertools
import re
import threading
import time

from .loopback import Drop, FakeService, Reply


class FakeWordPress(FakeService):
    """wp-json/wp/v2 with Basic auth (application passwords)."""

    def __init__(self, username="editor", password="abcd efgh ijkl mnop"):
        super().__init__()
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.ids = itertools.count(100)
        self.posts: list[dict] = []
        self.terms = {"categories": [{"id": 1, "name": "Uncategorized", "slug": "uncategorized"}],
                      "tags": [{"id": 2, "name": "Tips &amp; Tricks", "slug": "tips-tricks"}]}  # fmt: skip
        self.media: list[dict] = []

    def handle(self, r):
        if r.headers.get("authorization") != self.auth:
            return Reply(401, {"code": "rest_not_logged_in", "message": "You are not currently logged in.", "data": {"status": 401}})  # fmt: skip
        route = r.path.removeprefix("/wp-json/wp/v2/")
        if route == "users/me":
            return Reply(200, {"id": 1, "name": "Editor", "capabilities": {"publish_posts": True}})
        if route in self.terms:
            if r.method == "GET":
                q = r.query.get("search", "").lower()
                return Reply(
                    200, [t for t in self.terms[route] if q in html.unescape(t["name"]).lower()]
                )
            name = r.json()["name"]
            term = {"id": next(self.ids), "name": html.escape(name), "slug": name.lower()}
            self.terms[route].append(term)
            return Reply(201, term)
        if route == "media" and r.method == "POST":
            item = {"id": next(self.ids), "source_url": "https://blog.example.com/x.jpg",
                    "disposition": r.headers.get("content-disposition"), "size": len(r.body),
                    "type": r.headers.get("content-type")}  # fmt: skip
            self.media.append(item)
            return Reply(201, item)
        if route == "posts" and r.method == "POST":
            data = r.json()
            post = {
                "id": next(self.ids),
                "link": f"https://blog.example.com/{data['slug']}/",
                **data,
            }
            self.posts.append(post)
            if self.drop_after_create:
                raise Drop
            return Reply(201, post)
        if route == "posts" and r.method == "GET":
            if "slug" in r.query:
                return Reply(200, [p for p in self.posts if p["slug"] == r.query["slug"]])
            q = r.query.get("search", "")
            return Reply(200, [p for p in self.posts if q in p["slug"] or q in p["title"]])
        return Reply(404, {"code": "rest_no_route"})


class FakeDiscourse(FakeService):
    def __init__(self, api_key="k-123", api_username="system"):
        super().__init__()
        self.api_key, self.api_username = api_key, api_username
        self.topics: list[dict] = []
        self.ids = itertools.count(10)
        self.categories = [{"id": 5, "name": "Announcements", "slug": "announcements"},
                           {"id": 7, "name": "营销", "slug": "marketing"}]  # fmt: skip

    def handle(self, r):
        if (
            r.headers.get("api-key") != self.api_key
            or r.headers.get("api-username") != self.api_username
        ):
            return Reply(403, {"errors": ["You are not permitted to view the requested resource."], "error_type": "invalid_access"})  # fmt: skip
        if r.path == "/session/current.json":
            return Reply(200, {"current_user": {"id": 1, "username": self.api_username}})
        if r.path == "/categories.json":
            return Reply(200, {"category_list": {"categories": self.categories}})
        if r.path == "/posts.json" and r.method == "POST":
            data = r.json()
            if any(t["external_id"] == data.get("external_id") for t in self.topics):
                return Reply(422, {"errors": ["External ID has already been taken"]})
            topic_id = next(self.ids)
            topic = {"id": topic_id, "slug": "spring-sale-guide", **data}
            self.topics.append(topic)
            if self.drop_after_create:
                raise Drop
            return Reply(
                200,
                {"id": topic_id + 1000, "topic_id": topic_id, "topic_slug": "spring-sale-guide"},
            )
        m = re.fullmatch(r"/t/external_id/(.+)\.json", r.path)
        if m:
            for t in self.topics:
                if t["external_id"] == m.group(1):
                    return Reply(301, "", {"Location": f"/t/{t['slug']}/{t['id']}.json"})
            return Reply(404, {"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"})  # fmt: skip
        m = re.fullmatch(r"/t/([^/]+)/(\d+)\.json", r.path)
        if m:
            for t in self.topics:
                if t["id"] == int(m.group(2)):
                    return Reply(200, {"id": t["id"], "slug": t["slug"], "title": t["title"]})
        return Reply(404, {"errors": ["not found"]})


class FakeReddit(FakeService):
    """oauth.reddit.com plus the token endpoint (served from the same loopback port)."""

    def __init__(self, client_id="cid", client_secret="csecret"):
        super().__init__()
        self.basic = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self.refresh_tokens = {"rt-1"}
        self.access_tokens = {"at-0"}
        self.token_delay = 0.0
        self.refresh_count = 0
        self.submissions: list[dict] = []
        self.ids = itertools.count(1)
        self.count_lock = threading.Lock()
        self.ratelimit = {
            "X-Ratelimit-Remaining": "99",
            "X-Ratelimit-Reset": "300",
            "X-Ratelimit-Used": "1",
        }

    def handle(self, r):
        if r.path == "/api/v1/access_token":
            if r.headers.get("authorization") != self.basic:
                return Reply(401, {"message": "Unauthorized", "error": 401})
            form = r.form()
            if form.get("grant_type") == "authorization_code":
                if form.get("code") != "good-code":
                    return Reply(200, {"error": "invalid_grant"})
                self.access_tokens.add("at-code")
                return Reply(200, {"access_token": "at-code", "token_type": "bearer", "expires_in": 3600, "refresh_token": "rt-code", "scope": "identity submit"})  # fmt: skip
            if form.get("refresh_token") not in self.refresh_tokens:
                return Reply(400, {"error": "invalid_grant"})
            time.sleep(self.token_delay)
            with self.count_lock:
                self.refresh_count += 1
                token = f"at-{self.refresh_count}"
            self.access_tokens.add(token)
            return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": "identity submit"})  # fmt: skip
        auth = r.headers.get("authorization", "")
        if not auth.startswith("bearer ") or auth[7:] not in self.access_tokens:
            return Reply(401, {"message": "Unauthorized", "error": 401})
        if r.path == "/api/v1/me":
            return Reply(200, {"name": "acme_marketing", "id": "abc"}, dict(self.ratelimit))
        m = re.fullmatch(r"/r/([^/]+)/about", r.path)
        if m:
            if m.group(1) != "smallbusiness":
                return Reply(404, {"message": "Not Found", "error": 404})
            return Reply(200, {"kind": "t5", "data": {"display_name": "smallbusiness", "submission_type": "any"}})  # fmt: skip
        if r.path == "/api/submit" and r.method == "POST":
            form = r.form()
            if form.get("sr") != "smallbusiness":
                return Reply(200, {"json": {"errors": [["SUBREDDIT_NOEXIST", "that subreddit doesn't exist", "sr"]]}})  # fmt: skip
            n = next(self.ids)
            post = {"name": f"t3_p{n}", "id": f"p{n}", "title": form["title"],
                    "selftext": form.get("text", ""), "url": form.get("url") or f"https://www.reddit.com/r/smallbusiness/comments/p{n}/",
                    "permalink": f"/r/smallbusiness/comments/p{n}/x/"}  # fmt: skip
            self.submissions.insert(0, post)
            if self.drop_after_create:
                raise Drop
            return Reply(200, {"json": {"errors": [], "data": {"url": post["url"], "id": post["id"], "name": post["name"]}}}, dict(self.ratelimit))  # fmt: skip
        m = re.fullmatch(r"/user/([^/]+)/submitted", r.path)
        if m:
            children = [{"kind": "t3", "data": p} for p in self.submissions]
            return Reply(
                200, {"kind": "Listing", "data": {"children": children}}, dict(self.ratelimit)
            )
        return Reply(404, {"message": "Not Found", "error": 404})
