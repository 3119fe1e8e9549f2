"""Reddit adapter (OAuth API) against a loopback server; token refresh under a row lock."""

import threading
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from channels.base import OutcomeUnknown
from channels.forum.reddit import get_access_token, key_marker
from channels.models import ChannelAccount

from .fakes import FakeReddit
from .helpers import publish_error, short_timeout
from .loopback import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def reddit(loopback):
    return loopback(FakeReddit())


def reddit_settings(server, **extra):
    return {
        "api_base": server.url,
        "token_url": server.url + "/api/v1/access_token",
        "subreddit": "smallbusiness",
        "username": "acme_marketing",
        "post_kind": "self",
        **extra,
    }


def reddit_secrets(**extra):
    return {
        "access_token": "at-0",
        "expires_at": time.time() + 3600,
        "refresh_token": "rt-1",
        "client_id": "cid",
        "client_secret": "csecret",
        **extra,
    }


@pytest.fixture
def publication(make_publication, reddit):
    pub = make_publication(
        "forum/reddit", settings=reddit_settings(reddit), secrets=reddit_secrets()
    )
    cache.delete(f"channels:reddit:ratelimit:{pub.channel_account.pk}")
    return pub


def test_self_post_exact_request(publication, reddit):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    result = adapter.publish(publication, rendered)

    (submit,) = reddit.requests
    assert (submit.method, submit.path) == ("POST", "/api/submit")
    assert submit.headers["authorization"] == "bearer at-0"
    assert submit.headers["user-agent"] == "web:campaignhub:0.1 (by /u/acme_marketing)"
    assert submit.form() == {
        "api_type": "json",
        "sr": "smallbusiness",
        "kind": "self",
        "title": "Spring sale guide",
        "resubmit": "true",
        "sendreplies": "true",
        "text": rendered.markdown,
    }
    assert rendered.markdown.rstrip().endswith(f"[//]: # ({key_marker(publication)})")
    assert settings.SITE_BASE_URL + "/t/" in rendered.markdown
    assert result.external_id == "t3_p1"


def test_link_post_points_at_the_tracked_hub_link(make_publication, reddit):
    publication = make_publication(
        "forum/reddit",
        settings=reddit_settings(reddit, post_kind="link"),
        secrets=reddit_secrets(),
    )
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))
    form = reddit.requests[0].form()
    assert form["kind"] == "link"
    assert form["url"].startswith(settings.SITE_BASE_URL + "/t/")
    assert "text" not in form


def test_expired_token_is_refreshed_first_and_stored_encrypted(make_publication, reddit):
    publication = make_publication(
        "forum/reddit",
        settings=reddit_settings(reddit),
        secrets=reddit_secrets(expires_at=time.time() - 10),
    )
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))

    refresh, submit = reddit.requests
    assert (refresh.method, refresh.path) == ("POST", "/api/v1/access_token")
    assert refresh.headers["authorization"] == reddit.service.basic
    assert refresh.form() == {"grant_type": "refresh_token", "refresh_token": "rt-1"}
    assert submit.headers["authorization"] == "bearer at-1"
    account = ChannelAccount.objects.get(pk=publication.channel_account.pk)
    assert account.secrets["access_token"] == "at-1"
    assert account.secrets["refresh_token"] == "rt-1"  # Reddit keeps the refresh token
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM channels_channelaccount WHERE id = %s", [account.pk])
        assert "at-1" not in cursor.fetchone()[0]


def test_revoked_refresh_token_is_permanent_and_says_reconnect(make_publication, reddit):
    publication = make_publication(
        "forum/reddit",
        settings=reddit_settings(reddit),
        secrets=reddit_secrets(expires_at=0, refresh_token="revoked"),
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent and "reconnect" in error.message
    assert reddit.service.submissions == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_refresh_once_under_the_row_lock(postgres, make_publication, reddit):
    publication = make_publication(
        "forum/reddit",
        settings=reddit_settings(reddit),
        secrets=reddit_secrets(expires_at=time.time() - 10),
    )
    reddit.service.token_delay = 0.5  # keeps the first refresh in flight while the second arrives
    pk = publication.channel_account.pk
    tokens, errors = [], []
    start = threading.Barrier(2)

    def worker():
        try:
            account = ChannelAccount.objects.get(pk=pk)  # each worker's own stale copy
            start.wait()
            tokens.append(get_access_token(account))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert reddit.service.refresh_count == 1
    assert tokens == ["at-1", "at-1"]
    assert len(reddit.calls("POST", "/api/v1/access_token")) == 1


def test_401_is_permanent(make_publication, reddit):
    publication = make_publication(
        "forum/reddit", settings=reddit_settings(reddit), secrets=reddit_secrets(access_token="bad")
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent and "401" in error.message


def test_403_is_permanent(publication, reddit):
    reddit.faults.append(Reply(403, {"message": "Forbidden", "error": 403}))
    adapter = publication.channel_account.get_adapter()
    assert publish_error(adapter.publish, publication, adapter.render(publication)).permanent


def test_5xx_is_transient(publication, reddit):
    reddit.faults.append(Reply(503, "<html>all our servers are busy</html>"))
    adapter = publication.channel_account.get_adapter()
    assert (
        publish_error(adapter.publish, publication, adapter.render(publication)).permanent is False
    )


def test_429_with_retry_after(publication, reddit):
    reddit.faults.append(Reply(429, {"message": "Too Many Requests"}, {"Retry-After": "42"}))
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent is False and error.retry_after == 42


def test_ratelimit_error_in_body_is_transient(publication, reddit):
    reddit.faults.append(
        Reply(
            200,
            {
                "json": {
                    "ratelimit": 540.5,
                    "errors": [
                        [
                            "RATELIMIT",
                            "you are doing that too much. try again in 9 minutes.",
                            "ratelimit",
                        ]
                    ],
                }
            },
        )  # fmt: skip
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent is False and error.retry_after == 540.5


def test_unknown_subreddit_is_permanent(make_publication, reddit):
    publication = make_publication(
        "forum/reddit", settings=reddit_settings(reddit, subreddit="nope"), secrets=reddit_secrets()
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent and "SUBREDDIT_NOEXIST" in error.message


def test_spent_rate_limit_budget_fails_fast_without_a_request(publication, reddit):
    reddit.service.ratelimit = {"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "120", "X-Ratelimit-Used": "100"}  # fmt: skip
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))
    before = len(reddit.requests)
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent is False
    assert 100 < error.retry_after <= 120
    assert len(reddit.requests) == before


@short_timeout
def test_timeout_is_transient(publication, reddit):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    reddit.service.delay = 1.0
    assert publish_error(adapter.publish, publication, rendered).permanent is False


def test_lost_response_then_find_existing_finds_the_submission(publication, reddit):
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    reddit.service.drop_after_create = True
    assert isinstance(publish_error(adapter.publish, publication, rendered), OutcomeUnknown)
    reddit.service.drop_after_create = False

    found = adapter.find_existing(publication)
    assert found is not None and found.external_id == "t3_p1"
    assert found.url == "https://www.reddit.com/r/smallbusiness/comments/p1/x/"
    lookup = reddit.calls("GET", "/user/acme_marketing/submitted")[0]
    assert lookup.query == {"limit": "100", "sort": "new", "raw_json": "1"}
    assert len(reddit.calls("POST", "/api/submit")) == 1


def test_find_existing_link_post_by_its_tracked_url(make_publication, reddit):
    publication = make_publication(
        "forum/reddit", settings=reddit_settings(reddit, post_kind="link"), secrets=reddit_secrets()
    )
    adapter = publication.channel_account.get_adapter()
    assert adapter.find_existing(publication) is None
    adapter.publish(publication, adapter.render(publication))
    assert adapter.find_existing(publication).external_id == "t3_p1"


def test_find_existing_pages_back_past_many_newer_submissions(publication, reddit):
    adapter = publication.channel_account.get_adapter()
    adapter.publish(publication, adapter.render(publication))
    for n in range(250):
        reddit.service.add_submission(f"Newer {n}")
    found = adapter.find_existing(publication)
    assert found is not None and found.external_id == "t3_p1"
    pages = reddit.calls("GET", "/user/acme_marketing/submitted")
    assert [r.query.get("after") for r in pages] == [None, "t3_p152", "t3_p52"]


def test_find_existing_stops_at_submissions_older_than_the_first_attempt(publication, reddit):
    long_ago = time.time() - 3 * 86400
    for n in range(150):
        reddit.service.add_submission(f"Old {n}", created_utc=long_ago)
    assert publication.channel_account.get_adapter().find_existing(publication) is None
    assert len(reddit.calls("GET", "/user/acme_marketing/submitted")) == 1


def test_an_unreadable_answer_to_the_submission_is_outcome_unknown(publication, reddit):
    reddit.faults.append(Reply(200, "<html>upstream connect error</html>"))
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert isinstance(error, OutcomeUnknown) and "upstream connect error" in error.message


def test_check_publication_accepts_a_good_one(publication, reddit):
    assert publication.channel_account.get_adapter().check_publication(publication) == []
    assert reddit.calls("GET", "/api/v1/smallbusiness/post_requirements")


def test_check_publication_title_rules(publication, reddit):
    adapter = publication.channel_account.get_adapter()
    publication.title_override = "长" * 301
    (problem,) = adapter.check_publication(publication)
    assert "301" in problem and "300" in problem
    publication.title_override = "Spring sale guide"
    reddit.service.requirements.update(
        title_text_min_length=20,
        title_required_strings=["[Guide]", "[Question]"],
        title_blacklisted_strings=["sale"],
    )
    problems = adapter.check_publication(publication)
    assert len(problems) == 3
    assert "20" in problems[0] and "[Guide]" in problems[1] and "sale" in problems[2]


def test_check_publication_flair_rules(publication, reddit):
    adapter = publication.channel_account.get_adapter()
    reddit.service.requirements["is_flair_required"] = True
    (problem,) = adapter.check_publication(publication)
    assert "requires a flair" in problem and "News (f-news)" in problem
    publication.channel_account.settings["flair_id"] = "f-gone"
    (problem,) = adapter.check_publication(publication)
    assert "f-gone" in problem and "Deal (f-deal)" in problem
    publication.channel_account.settings["flair_id"] = "f-deal"
    assert adapter.check_publication(publication) == []
    # Without the "flair" scope the list is refused: the id cannot be checked, not wrong.
    reddit.service.flairs = None
    publication.channel_account.settings["flair_id"] = "f-unknowable"
    assert adapter.check_publication(publication) == []


def test_validate_account(publication, reddit):
    account = publication.channel_account
    account.get_adapter().validate_account(account)
    account.settings["subreddit"] = "doesnotexist"
    error = publish_error(account.get_adapter().validate_account, account)
    assert error.permanent and "doesnotexist" in error.message


def test_validate_account_wants_the_history_scope_for_lookups(publication, reddit):
    account = publication.channel_account
    account.secrets = {**account.secrets, "scope": "identity submit history read flair"}
    account.get_adapter().validate_account(account)  # no error
    account.secrets = {**account.secrets, "scope": "identity submit"}  # connected before
    error = publish_error(account.get_adapter().validate_account, account)
    assert error.permanent and "history" in error.message and "Connect Reddit" in error.message


def test_non_internal_account_refused(make_publication, reddit):
    publication = make_publication(
        "forum/reddit", settings=reddit_settings(reddit), secrets=reddit_secrets(), internal=False
    )
    adapter = publication.channel_account.get_adapter()
    error = publish_error(adapter.publish, publication, adapter.render(publication))
    assert error.permanent and reddit.requests == []
