"""Fakes of the documented APIs (paths, headers, bodies, error shapes)."""

from __future__ import annotations

import base64
import datetime
import html
import itertools
import re
import threading
import time
import xmlrpc.client

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
                # As the real one: the search runs on the stored, HTML-escaped name, so
                # "Tips & Tricks" as typed does not find "Tips &amp; Tricks".
                q = r.query.get("search", "").lower()
                return Reply(200, [t for t in self.terms[route] if q in t["name"].lower()])
            name = r.json()["name"]
            taken = [t for t in self.terms[route] if t["name"] == html.escape(name, quote=False)]
            if taken:
                return Reply(400, {"code": "term_exists", "message": "A term with the name provided already exists with this parent.", "data": {"status": 400, "term_id": taken[0]["id"]}})  # fmt: skip
            term = {
                "id": next(self.ids),
                "name": html.escape(name, quote=False),
                "slug": name.lower(),
            }
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
            slug = self.unique_slug(data.get("slug") or "")
            post = {"id": next(self.ids), **data, "slug": slug, "status": data.get("status") or "draft",
                    "link": f"https://blog.example.com/{slug}/"}  # fmt: skip
            self.posts.append(post)
            if self.drop_after_create:
                raise Drop
            return Reply(201, self.shape(post, r))
        if route == "posts" and r.method == "GET":
            return Reply(200, [self.shape(p, r) for p in self.query_posts(r.query)])
        m = re.fullmatch(r"posts/(\d+)", route)
        if m and r.method == "DELETE":
            post = next((p for p in self.posts if p["id"] == int(m.group(1))), None)
            if post is None:
                return Reply(404, {"code": "rest_post_invalid_id"})
            # Trashing renames the slug, so a trashed post never blocks its slug.
            post.update(status="trash", slug=post["slug"] + "__trashed")
            return Reply(200, self.shape(post, r))
        return Reply(404, {"code": "rest_no_route"})

    def live_posts(self) -> list[dict]:
        return [p for p in self.posts if p["status"] != "trash"]

    def unique_slug(self, slug: str) -> str:
        """What wp_unique_post_slug does: a taken slug gets "-2", "-3"... (never an error)."""
        taken = {p["slug"] for p in self.posts}
        candidate, n = slug, 2
        while candidate in taken:
            candidate, n = f"{slug}-{n}", n + 1
        return candidate

    def query_posts(self, query: dict) -> list[dict]:
        """GET /wp/v2/posts: `status` (a list; default publish), `slug` (a list, exact),
        `search` (title, excerpt and content: never the slug), `per_page`, newest first."""
        statuses = str(query.get("status", "publish")).split(",")
        posts = [p for p in reversed(self.posts) if "any" in statuses or p["status"] in statuses]
        if "any" in statuses:
            posts = [p for p in posts if p["status"] != "trash"]
        if "slug" in query:
            posts = [p for p in posts if p["slug"] in str(query["slug"]).split(",")]
        if "search" in query:
            q = query["search"].casefold()
            posts = [p for p in posts
                     if any(q in str(p.get(f, "")).casefold() for f in ("title", "excerpt", "content"))]  # fmt: skip
        return posts[: int(query.get("per_page", 10))]

    @staticmethod
    def shape(post: dict, r) -> dict:
        """A post as the REST API gives it: title/content/excerpt as objects, with the
        raw text only in the edit context."""
        edit = r.query.get("context") == "edit"
        answer = {k: post[k] for k in ("id", "slug", "status", "link")}
        for field in ("title", "content", "excerpt"):
            text = str(post.get(field, ""))
            answer[field] = {"rendered": text, **({"raw": text} if edit else {})}
        return answer


class FakeDiscourse(FakeService):
    """Discourse's REST API with admin API keys. A key maps to None (every scope) or to
    the set of controller actions its granular scopes allow; like Discourse, a request
    outside a key's scopes is refused as invalid credentials (403). Without a key only
    public endpoints answer."""

    ROUTES = [
        ("GET", r"/session/current\.json", "session#current"),
        ("GET", r"/categories\.json", "categories#index"),
        ("GET", r"/site/settings\.json", "site#settings"),
        ("POST", r"/posts\.json", "posts#create"),
        ("GET", r"/t/external_id/(.+)\.json", "topics#show_by_external_id"),
        ("GET", r"/t/([^/]+)/(\d+)\.json", "topics#show"),
    ]
    PUBLIC = {"categories#index", "site#settings"}
    # The scopes "topics: write", "topics: read" and "categories: list".
    PUBLISHING_SCOPES = {"posts#create", "topics#show", "topics#show_by_external_id", "categories#index"}  # fmt: skip

    def __init__(self, api_key="k-123", api_username="system"):
        super().__init__()
        self.api_keys: dict[str, set | None] = {api_key: None}
        self.api_username = api_username
        self.topics: list[dict] = []
        self.ids = itertools.count(10)
        self.categories = [{"id": 5, "name": "Announcements", "slug": "announcements"},
                           {"id": 7, "name": "营销", "slug": "marketing"},
                           {"id": 9, "name": "Spring deals", "slug": "spring-deals", "parent_category_id": 5}]  # fmt: skip
        self.site_settings = {"min_topic_title_length": 15, "max_topic_title_length": 255}
        self.review_new_topics = False
        self.pending: list[dict] = []

    def route(self, r):
        for method, pattern, action in self.ROUTES:
            m = re.fullmatch(pattern, r.path)
            if m and r.method == method:
                return action, m
        return None, None

    def handle(self, r):
        action, m = self.route(r)
        key = r.headers.get("api-key")
        if key is None and action not in self.PUBLIC:
            return Reply(403, {"errors": ["You are not permitted to view the requested resource."], "error_type": "not_logged_in"})  # fmt: skip
        if key is not None and (
            key not in self.api_keys
            or r.headers.get("api-username") != self.api_username
            or (self.api_keys[key] is not None and action not in self.api_keys[key])
        ):
            return Reply(403, {"errors": ["You are not permitted to view the requested resource. The API username or key is invalid."], "error_type": "invalid_access"})  # fmt: skip
        if action == "session#current":
            return Reply(200, {"current_user": {"id": 1, "username": self.api_username}})
        if action == "site#settings":
            return Reply(200, dict(self.site_settings))
        if action == "categories#index":
            return Reply(200, {"category_list": {"categories": self.category_list(r)}})
        if action == "posts#create":
            return self.create(r.json())
        if action == "topics#show_by_external_id":
            for t in self.topics:
                if t["external_id"] == m.group(1):
                    return Reply(301, "", {"Location": f"/t/{t['slug']}/{t['id']}.json"})
            return Reply(404, {"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"})  # fmt: skip
        if action == "topics#show":
            for t in self.topics:
                if t["id"] == int(m.group(2)):
                    return Reply(200, {"id": t["id"], "slug": t["slug"], "title": t["title"]})
        return Reply(404, {"errors": ["not found"]})

    def category_list(self, r) -> list[dict]:
        """Top-level categories; their subcategories only with include_subcategories."""
        with_subcategories = r.query.get("include_subcategories") == "true"
        listed = []
        for category in self.categories:
            if category.get("parent_category_id"):
                continue
            item = dict(category)
            if with_subcategories:
                item["subcategory_list"] = [
                    c for c in self.categories if c.get("parent_category_id") == category["id"]
                ]
            listed.append(item)
        return listed

    def create(self, data: dict) -> Reply:
        if any(t["external_id"] == data.get("external_id") for t in self.topics):
            return Reply(422, {"action": "create_post", "errors": ["External ID has already been taken"]})  # fmt: skip
        title = data.get("title", "")
        if len(title) < self.site_settings["min_topic_title_length"]:
            return Reply(422, {"action": "create_post", "errors": [f"Title is too short (minimum is {self.site_settings['min_topic_title_length']} characters)"]})  # fmt: skip
        if self.review_new_topics:
            # Discourse's answer when the post goes to the review queue (approval needed).
            self.pending.append(data)
            return Reply(200, {"success": True, "action": "enqueued", "pending_post": {"id": next(self.ids), "raw": data.get("raw", "")}, "pending_count": len(self.pending)})  # fmt: skip
        topic_id = next(self.ids)
        topic = {"id": topic_id, "slug": "spring-sale-guide", **data}
        self.topics.append(topic)
        if self.drop_after_create:
            raise Drop
        return Reply(
            200, {"id": topic_id + 1000, "topic_id": topic_id, "topic_slug": "spring-sale-guide"}
        )


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
        # /api/v1/<sr>/post_requirements and /r/<sr>/api/link_flair_v2 (None: 403, as
        # for a token without the "flair" scope).
        self.requirements = {"is_flair_required": False, "title_text_min_length": None,
                             "title_text_max_length": None, "title_required_strings": [],
                             "title_blacklisted_strings": []}  # fmt: skip
        self.flairs = [{"id": "f-news", "text": "News"}, {"id": "f-deal", "text": "Deal"}]

    def add_submission(self, title: str, created_utc: float | None = None, **fields) -> dict:
        """A submission of the account made some other way (newest first, like Reddit)."""
        n = next(self.ids)
        post = {"name": f"t3_p{n}", "id": f"p{n}", "title": title, "selftext": "",
                "url": f"https://www.reddit.com/r/smallbusiness/comments/p{n}/x/",
                "permalink": f"/r/smallbusiness/comments/p{n}/x/",
                "created_utc": created_utc or time.time(), **fields}  # fmt: skip
        self.submissions.insert(0, post)
        return post

    def listing(self, query: dict) -> dict:
        """/user/<name>/submitted: `limit` (25 by default, at most 100), `after`."""
        limit = min(int(query.get("limit", 25)), 100)
        start = 0
        if query.get("after"):
            names = [p["name"] for p in self.submissions]
            start = names.index(query["after"]) + 1
        page = self.submissions[start : start + limit]
        after = page[-1]["name"] if page and start + limit < len(self.submissions) else None
        children = [{"kind": "t3", "data": p} for p in page]
        return {"kind": "Listing", "data": {"children": children, "after": after}}

    def handle(self, r):
        if r.path == "/api/v1/access_token":
            if r.headers.get("authorization") != self.basic:
                return Reply(401, {"message": "Unauthorized", "error": 401})
            form = r.form()
            if form.get("grant_type") == "authorization_code":
                if form.get("code") != "good-code":
                    return Reply(200, {"error": "invalid_grant"})
                self.access_tokens.add("at-code")
                return Reply(200, {"access_token": "at-code", "token_type": "bearer", "expires_in": 3600, "refresh_token": "rt-code", "scope": "identity submit history read flair"})  # fmt: skip
            if form.get("refresh_token") not in self.refresh_tokens:
                return Reply(400, {"error": "invalid_grant"})
            time.sleep(self.token_delay)
            with self.count_lock:
                self.refresh_count += 1
                token = f"at-{self.refresh_count}"
            self.access_tokens.add(token)
            return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": "identity submit history read flair"})  # fmt: skip
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
            link = {"url": form["url"]} if form.get("url") else {}
            post = self.add_submission(form["title"], selftext=form.get("text", ""), **link)
            if self.drop_after_create:
                raise Drop
            # The answer's url is the post's own page (for a link post too), like Reddit's.
            page = "https://www.reddit.com" + post["permalink"]
            return Reply(200, {"json": {"errors": [], "data": {"url": page, "id": post["id"], "name": post["name"]}}}, dict(self.ratelimit))  # fmt: skip
        m = re.fullmatch(r"/user/([^/]+)/submitted", r.path)
        if m:
            return Reply(200, self.listing(r.query), dict(self.ratelimit))
        if re.fullmatch(r"/api/v1/smallbusiness/post_requirements", r.path):
            return Reply(200, dict(self.requirements), dict(self.ratelimit))
        if re.fullmatch(r"/r/smallbusiness/api/link_flair_v2", r.path):
            if self.flairs is None:
                return Reply(403, {"message": "Forbidden", "error": 403})
            return Reply(200, list(self.flairs), dict(self.ratelimit))
        return Reply(404, {"message": "Not Found", "error": 404})


class FakeMetaWeblog(FakeService):
    """A MetaWeblog XML-RPC endpoint (any path), as cnblogs serves it or, with
    `wordpress=True`, as WordPress's xmlrpc.php does: then wp.getPosts pages with an
    offset and posts carry GMT dates. Like both, newPost silently drops a category the
    blog does not have. Post dates are in the blog's time zone (`utc_offset_hours`).

    Tests set `fault` (an xmlrpc.client.Fault answered once, to the next call of
    `fault_method` if set), `delay` and `drop_after_create` (the post is stored, the
    answer never leaves)."""

    def __init__(self, wordpress=False, utc_offset_hours=8, recent_cap=None):
        super().__init__()
        self.wordpress = wordpress
        self.offset = datetime.timedelta(hours=utc_offset_hours)
        self.recent_cap = recent_cap
        self.posts: list[dict] = []  # oldest first
        self.media: list[dict] = []
        self.rpc_calls: list[tuple] = []
        self.fault = None
        self.fault_method = None  # None: the next call of any method gets `fault`
        self.category_names = ["[Markdown]", "News"]
        self.methods = {
            "metaWeblog.newPost": self.new_post,
            "metaWeblog.getPost": self.get_post,
            "metaWeblog.newMediaObject": self.new_media_object,
            "metaWeblog.getRecentPosts": self.get_recent_posts,
            "metaWeblog.getCategories": self.get_categories,
            "blogger.getUsersBlogs": self.get_users_blogs,
        }
        if wordpress:
            self.methods["wp.getPosts"] = self.wp_get_posts

    def handle(self, r):
        params, method = xmlrpc.client.loads(r.body, use_builtin_types=True)
        try:
            if method not in self.methods:
                raise xmlrpc.client.Fault(-32601, f"server error. requested method {method} does not exist.")  # fmt: skip
            result = self.methods[method](*params)
            if method == "metaWeblog.newPost" and self.drop_after_create:
                raise Drop  # stored; the answer never leaves
            body = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True)
        except xmlrpc.client.Fault as fault:
            body = xmlrpc.client.dumps(fault, methodresponse=True)
        return Reply(200, body, {"Content-Type": "text/xml; charset=utf-8"})

    def check(self, method, username, password, *rest):
        self.rpc_calls.append((method, username, password, *rest))
        if self.fault and self.fault_method in (None, method):
            fault, self.fault = self.fault, None
            raise fault
        if (username, password) != ("writer", "token-1"):
            raise xmlrpc.client.Fault(403, "Incorrect username or password.")

    def add_post(self, title: str, description: str = "", when: datetime.datetime | None = None):
        """A post made some other way; `when` is a UTC time (default now)."""
        when = when or datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        postid = str(len(self.posts) + 1)
        post = {"postid": postid, "link": f"https://blog.example.com/p/{postid}.html",
                "title": title, "description": description, "categories": [], "utc": when}  # fmt: skip
        self.posts.append(post)
        return post

    def public(self, post: dict) -> dict:
        shown = {k: v for k, v in post.items() if k != "utc"}
        shown["dateCreated"] = post["utc"] + self.offset
        if self.wordpress:
            shown["date_created_gmt"] = post["utc"]
        return shown

    def new_post(self, blogid, username, password, struct, publish):
        self.check("metaWeblog.newPost", username, password, blogid, struct, publish)
        post = self.add_post(struct["title"], struct.get("description", ""))
        post.update({k: v for k, v in struct.items() if k not in ("title", "description")})
        post["categories"] = [c for c in struct.get("categories", []) if c in self.category_names]
        return post["postid"]

    def get_post(self, postid, username, password):
        self.check("metaWeblog.getPost", username, password, postid)
        return self.public(next(p for p in self.posts if p["postid"] == postid))

    def new_media_object(self, blogid, username, password, media):
        self.check("metaWeblog.newMediaObject", username, password, blogid, media["name"], media["type"])  # fmt: skip
        self.media.append(media)
        return {"url": f"https://img.example.com/{media['name']}"}

    def get_recent_posts(self, blogid, username, password, count):
        self.check("metaWeblog.getRecentPosts", username, password, blogid, count)
        count = min(count, self.recent_cap or count)
        return [self.public(p) for p in reversed(self.posts)][:count]

    def wp_get_posts(self, blogid, username, password, query, fields=None):
        self.check("wp.getPosts", username, password, blogid, query)
        newest_first = list(reversed(self.posts))
        offset, number = int(query.get("offset", 0)), int(query.get("number", 10))
        return [{"post_id": p["postid"], "link": p["link"], "post_title": p["title"],
                 "post_content": p["description"], "post_name": p.get("wp_slug", ""),
                 "post_date_gmt": p["utc"]} for p in newest_first[offset : offset + number]]  # fmt: skip

    def get_users_blogs(self, appkey, username, password):
        self.check("blogger.getUsersBlogs", username, password)
        return [{"blogid": "42", "url": "https://blog.example.com/", "blogName": "Demo"}]

    def get_categories(self, blogid, username, password):
        self.check("metaWeblog.getCategories", username, password, blogid)
        return [{"title": name} for name in self.category_names]
