"""Opt-in live tests against real services. Each runs only when its environment
variables are set, and PUBLISHES A REAL POST titled "[campaignhub live test] ...":
point them at a test site, forum or subreddit you control.

    WordPress:  LIVE_WORDPRESS_URL, LIVE_WORDPRESS_USER, LIVE_WORDPRESS_APP_PASSWORD
    MetaWeblog: LIVE_METAWEBLOG_ENDPOINT, LIVE_METAWEBLOG_BLOG_ID, LIVE_METAWEBLOG_USER,
                LIVE_METAWEBLOG_PASSWORD
    Discourse:  LIVE_DISCOURSE_URL, LIVE_DISCOURSE_API_KEY, LIVE_DISCOURSE_API_USERNAME,
                LIVE_DISCOURSE_CATEGORY (optional)
    Reddit:     LIVE_REDDIT_CLIENT_ID, LIVE_REDDIT_CLIENT_SECRET, LIVE_REDDIT_REFRESH_TOKEN,
                LIVE_REDDIT_USERNAME, LIVE_REDDIT_SUBREDDIT
"""

import os
import uuid

import pytest

pytestmark = pytest.mark.django_db


def env_or_skip(*names):
    values = [os.environ.get(n, "") for n in names]
    if not all(values):
        pytest.skip("live test: set " + ", ".join(names))
    return values


def _round_trip(make_publication, kind, settings, secrets):
    publication = make_publication(
        kind,
        settings=settings,
        secrets=secrets,
        internal=False,
        title_override=f"[campaignhub live test] {uuid.uuid4().hex[:8]}",
    )
    adapter = publication.channel_account.get_adapter()
    adapter.validate_account(publication.channel_account)
    result = adapter.publish(publication, adapter.render(publication))
    assert result.external_id
    found = adapter.find_existing(publication)
    assert found is not None and found.external_id == result.external_id


def test_live_wordpress(make_publication):
    url, user, password = env_or_skip(
        "LIVE_WORDPRESS_URL", "LIVE_WORDPRESS_USER", "LIVE_WORDPRESS_APP_PASSWORD"
    )
    _round_trip(
        make_publication,
        "blog/wordpress",
        {"base_url": url, "username": user},
        {"application_password": password},
    )


def test_live_metaweblog(make_publication):
    endpoint, blog_id, user, password = env_or_skip(
        "LIVE_METAWEBLOG_ENDPOINT",
        "LIVE_METAWEBLOG_BLOG_ID",
        "LIVE_METAWEBLOG_USER",
        "LIVE_METAWEBLOG_PASSWORD",
    )
    _round_trip(
        make_publication,
        "blog/metaweblog",
        {"endpoint": endpoint, "blog_id": blog_id, "username": user},
        {"password": password},
    )


def test_live_discourse(make_publication):
    url, key, username = env_or_skip(
        "LIVE_DISCOURSE_URL", "LIVE_DISCOURSE_API_KEY", "LIVE_DISCOURSE_API_USERNAME"
    )
    settings = {"base_url": url, "api_username": username}
    if os.environ.get("LIVE_DISCOURSE_CATEGORY"):
        settings["category"] = os.environ["LIVE_DISCOURSE_CATEGORY"]
    _round_trip(make_publication, "forum/discourse", settings, {"api_key": key})


def test_live_reddit(make_publication):
    client_id, secret, refresh, username, subreddit = env_or_skip(
        "LIVE_REDDIT_CLIENT_ID",
        "LIVE_REDDIT_CLIENT_SECRET",
        "LIVE_REDDIT_REFRESH_TOKEN",
        "LIVE_REDDIT_USERNAME",
        "LIVE_REDDIT_SUBREDDIT",
    )
    _round_trip(
        make_publication,
        "forum/reddit",
        {"subreddit": subreddit, "username": username, "post_kind": "self"},
        {"client_id": client_id, "client_secret": secret, "refresh_token": refresh},
    )
