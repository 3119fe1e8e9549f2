"""Reddit: self and link posts through the OAuth API (POST /api/submit).

The account is connected from its admin page (channels.views, reddit_connect): the
marketer authorises our Reddit app with scopes `submit` and `identity` and a permanent
refresh token, which lands in the account's encrypted secrets. Connecting never signs
anyone in. Access tokens last an hour; `get_access_token` refreshes them under a row
lock so two workers never both spend the refresh token.

Idempotency: Reddit has no external id. Self posts end with a hidden Markdown comment
carrying our key; link posts point at this publication's own tracked link, which no
other publication shares. `find_existing` pages back through the account's submissions
(/user/<name>/submitted, newest first, `after=` paging) until it meets either or
reaches submissions older than the publication's first attempt (`lookup_horizon`), so
a busy account cannot push our post out of a fixed window.
"""

from __future__ import annotations

import re
import time

from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.base import (
    AccountField,
    ChannelAdapter,
    FieldType,
    OutcomeUnknown,
    PublishError,
    PublishResult,
    Rendered,
    lookup_horizon,
    problems_from,
    publication_title,
)
from channels.http import client_for_account, send
from channels.render import render_markdown
from content.disclosure import labelled

API_BASE = "https://oauth.reddit.com"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
TITLE_MAX = 300
REFRESH_MARGIN_SECONDS = 60
# Scopes publishing cannot do without (reddit_connect asks for these and more); only
# checked when the token's scope is known.
REQUIRED_SCOPES = ("submit", "identity", "history")
# Reddit's largest listing page; listings end after about 1000 items anyway.
SUBMISSIONS_PAGE = 100
SUBMISSIONS_MAX_PAGES = 10


def key_marker(publication) -> str:
    return f"campaignhub:{publication.idempotency_key}"


def _json(response):
    try:
        return response.json()
    except ValueError as exc:
        raise PublishError(_("Reddit did not answer with JSON"), permanent=False) from exc


def app_credentials(account) -> tuple[str, str]:
    """Our Reddit app's client id and secret: per account if given, else the site's."""
    client_id = account.secrets.get("client_id") or getattr(
        django_settings, "SOCIAL_AUTH_REDDIT_CHANNEL_KEY", ""
    )
    secret = account.secrets.get("client_secret") or getattr(
        django_settings, "SOCIAL_AUTH_REDDIT_CHANNEL_SECRET", ""
    )
    return client_id, secret


def user_agent(account) -> str:
    # Reddit throttles generic user agents; it asks for "<platform>:<app>:<version> (by /u/x)".
    name = account.settings.get("username") or "unknown"
    return f"web:campaignhub:0.1 (by /u/{name})"


def _token_is_fresh(secrets: dict) -> bool:
    return bool(secrets.get("access_token")) and (
        float(secrets.get("expires_at") or 0) > time.time() + REFRESH_MARGIN_SECONDS
    )


def get_access_token(account) -> str:
    """A valid access token for `account`, refreshed if it is about to expire.

    The refresh runs inside a transaction holding the account row's lock
    (SELECT ... FOR UPDATE): a second worker blocks on the lock, then finds the fresh
    token and uses it instead of refreshing again. Raises PublishError (permanent when
    Reddit refuses the refresh token: the account must be reconnected).
    """
    from channels.models import ChannelAccount

    if _token_is_fresh(account.secrets):
        return account.secrets["access_token"]
    with transaction.atomic():
        locked = ChannelAccount.objects.select_for_update().get(pk=account.pk)
        secrets = dict(locked.secrets)
        if not _token_is_fresh(secrets):
            secrets.update(refresh_access_token(locked, secrets))
            locked.secrets = secrets
            locked.save(update_fields=["secrets", "updated_at"])
    account.secrets = secrets
    return secrets["access_token"]


def refresh_access_token(account, secrets: dict) -> dict:
    """Spend the refresh token; return the secrets to update. Caller holds the lock."""
    refresh_token = secrets.get("refresh_token")
    if not refresh_token:
        raise PublishError(
            _("the Reddit account is not connected: use 'Connect Reddit' on its page"),
            permanent=True,
        )
    client_id, client_secret = app_credentials(account)
    if not client_id:
        raise PublishError(_("no Reddit app client id is configured"), permanent=True)
    with client_for_account(
        account, auth=(client_id, client_secret), headers={"User-Agent": user_agent(account)}
    ) as client:
        try:
            response = send(
                client,
                "POST",
                account.settings.get("token_url") or TOKEN_URL,
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                may_create=False,  # a token refresh posts nothing
            )
        except PublishError as exc:
            if getattr(exc, "status_code", None) in (400, 401):
                exc.permanent = True
                exc.message = _("Reddit refused the refresh token; reconnect the account (%s)") % (
                    exc.message
                )
            raise
        data = _json(response)
    if data.get("error") or not data.get("access_token"):
        raise PublishError(
            _("Reddit refused the refresh token (%(error)s); reconnect the account")
            % {"error": data.get("error", "no access token")},
            permanent=True,
        )
    update = {
        "access_token": data["access_token"],
        "expires_at": time.time() + float(data.get("expires_in") or 3600),
    }
    if data.get("refresh_token"):
        update["refresh_token"] = data["refresh_token"]
    if data.get("scope"):
        update["scope"] = data["scope"]
    return update


def _ratelimit_key(account) -> str:
    return f"channels:reddit:ratelimit:{account.pk}"


class RedditAdapter(ChannelAdapter):
    kind = "forum/reddit"
    label = gettext_lazy("Forum: Reddit")

    account_settings = (
        AccountField(
            "subreddit",
            gettext_lazy("Subreddit"),
            help_text=gettext_lazy("Without the r/, e.g. smallbusiness"),
            required=True,
            pattern=r"[A-Za-z0-9_]{2,21}",
        ),
        AccountField(
            "post_kind",
            gettext_lazy("Post as"),
            FieldType.CHOICE,
            choices=(
                ("self", gettext_lazy("Text post")),
                ("link", gettext_lazy("Link to the hub article")),
            ),
            default="self",
            required=True,
        ),
        AccountField(
            "flair_id",
            gettext_lazy("Flair id"),
            help_text=gettext_lazy("Optional; required by subreddits that insist on a flair."),
            max_length=100,
        ),
    )
    account_secrets = (
        AccountField(
            "client_id",
            gettext_lazy("Reddit app client id"),
            FieldType.PASSWORD,
            help_text=gettext_lazy("Optional: leave empty to use the site's Reddit app."),
        ),
        AccountField(
            "client_secret",
            gettext_lazy("Reddit app secret"),
            FieldType.PASSWORD,
            help_text=gettext_lazy("Optional: leave empty to use the site's Reddit app."),
        ),
    )
    # Written by "Connect Reddit" (the tokens, the user they belong to); api_base and
    # token_url point the adapter at another Reddit-compatible API (tests, proxies).
    managed_keys = frozenset(
        {
            "username",
            "access_token",
            "refresh_token",
            "expires_at",
            "scope",
            "api_base",
            "token_url",
        }
    )

    # --- plumbing -------------------------------------------------------------------
    def api_url(self, path: str) -> str:
        base = (self.account.settings.get("api_base") or API_BASE).rstrip("/")
        return f"{base}/{path.lstrip('/')}"

    def _client(self):
        token = get_access_token(self.account)
        return client_for_account(
            self.account,
            headers={"Authorization": f"bearer {token}", "User-Agent": user_agent(self.account)},
        )

    def _note_rate_limit(self, response) -> None:
        """Reddit sends X-Ratelimit-Remaining/-Reset on every OAuth response. When the
        budget is spent, remember until when, so the next publish fails fast (transient,
        with retry_after) instead of earning a 429."""
        remaining = response.headers.get("X-Ratelimit-Remaining")
        reset = response.headers.get("X-Ratelimit-Reset")
        try:
            remaining_f, reset_f = float(remaining), float(reset)
        except (TypeError, ValueError):
            return
        if remaining_f < 1:
            cache.set(_ratelimit_key(self.account), time.time() + reset_f, int(reset_f) + 1)
        elif response.status_code == 429:
            cache.set(_ratelimit_key(self.account), time.time() + reset_f, int(reset_f) + 1)

    def _check_rate_limit(self) -> None:
        until = cache.get(_ratelimit_key(self.account))
        if until and until > time.time():
            raise PublishError(
                _("Reddit rate limit reached; try again later"),
                permanent=False,
                retry_after=round(until - time.time(), 1),
            )

    def _send(self, client, method, path, **kwargs):
        try:
            return send(
                client, method, self.api_url(path), on_response=self._note_rate_limit, **kwargs
            )
        except PublishError as exc:
            if getattr(exc, "status_code", None) == 429 and exc.retry_after is None:
                until = cache.get(_ratelimit_key(self.account))
                exc.retry_after = round(until - time.time(), 1) if until else None
            raise

    def _post_kind(self) -> str:
        return "link" if self.account.settings.get("post_kind") == "link" else "self"

    def _title(self, publication, title: str) -> str:
        """The title as submitted. A link post has no body to open with the disclosure:
        its title carries the label ("[Sponsored] Title", "【广告】标题"). A self post's
        text opens with it, like every other channel's body."""
        if self._post_kind() != "link":
            return title
        return labelled(title, publication.page.specific)

    def _link_url(self, publication, rendered=None) -> str:
        if rendered is not None and rendered.extra.get("link_url"):
            return rendered.extra["link_url"]
        from analytics.links import tracked_url
        from channels.render.html import canonical_url_for

        page = publication.page.specific
        return tracked_url(
            canonical_url_for(page),
            publication=publication,
            campaign=publication.campaign,
            page=page,
            channel=self.account.channel,
            medium="reddit",
        )

    # --- contract -------------------------------------------------------------------
    def render(self, publication) -> Rendered:
        rendered = render_markdown(publication.page, publication)
        rendered.markdown = rendered.markdown.rstrip("\n") + (
            f"\n\n[//]: # ({key_marker(publication)})\n"
        )
        if self._post_kind() == "link":
            rendered.extra["link_url"] = self._link_url(publication)
        rendered.title = self._title(publication, rendered.title)
        return rendered

    def publish(self, publication, rendered: Rendered) -> PublishResult:
        self._check_rate_limit()
        subreddit = self.account.settings.get("subreddit")
        if not subreddit:
            raise PublishError(_("the account has no subreddit"), permanent=True)
        data = {
            "api_type": "json",
            "sr": subreddit,
            "kind": self._post_kind(),
            "title": rendered.title[:TITLE_MAX],
            "resubmit": "true",
            "sendreplies": "true",
        }
        if data["kind"] == "link":
            data["url"] = self._link_url(publication, rendered)
        else:
            text = rendered.markdown
            if key_marker(publication) not in text:
                text = text.rstrip("\n") + f"\n\n[//]: # ({key_marker(publication)})\n"
            data["text"] = text
        if self.account.settings.get("flair_id"):
            data["flair_id"] = self.account.settings["flair_id"]
        with self._client() as client:
            result = _submit_answer(self._send(client, "POST", "api/submit", data=data))
        errors = result.get("errors") or []
        if errors:
            codes = [e[0] for e in errors if e]
            message = "; ".join(" ".join(str(x) for x in e[:2]) for e in errors)
            if "RATELIMIT" in codes:
                raise PublishError(
                    _("Reddit rate limit: %(message)s") % {"message": message},
                    permanent=False,
                    retry_after=result.get("ratelimit") or _minutes_in(message),
                )
            raise PublishError(
                _("Reddit rejected the post: %(message)s") % {"message": message}, permanent=True
            )
        post = result.get("data") or {}
        external_id = post.get("name") or post.get("id")
        if not external_id:
            raise OutcomeUnknown(
                _("Reddit accepted the submission without saying which post it made")
            )
        return PublishResult(external_id=external_id, url=post.get("url", ""))

    def find_existing(self, publication) -> PublishResult | None:
        username = self.account.settings.get("username")
        if not username:
            raise PublishError(_("the Reddit account is not connected"), permanent=True)
        marker = key_marker(publication)
        link_url = self._link_url(publication) if self._post_kind() == "link" else None
        horizon = lookup_horizon(publication).timestamp()
        after = None
        with self._client() as client:
            for _page in range(SUBMISSIONS_MAX_PAGES):
                params = {"limit": SUBMISSIONS_PAGE, "sort": "new", "raw_json": 1}
                if after:
                    params["after"] = after
                listing = _json(
                    self._send(client, "GET", f"user/{username}/submitted", params=params)
                )
                data = (listing or {}).get("data") or {}
                posts = [child.get("data") or {} for child in data.get("children") or []]
                for post in posts:
                    if marker in (post.get("selftext") or "") or (
                        link_url and post.get("url") == link_url
                    ):
                        return _submission_result(post)
                after = data.get("after")
                older = any(float(p.get("created_utc") or horizon) < horizon for p in posts)
                if not after or older:
                    return None
        raise PublishError(
            _("Reddit does not list the account's posts back to the first attempt"),
            permanent=False,
        )

    def check_publication(self, publication) -> list[str]:
        """Title length (Reddit's 300 characters, and the subreddit's own limits and
        required or banned words from post_requirements) and flair (required by the
        subreddit; the configured flair id must be one of its link flairs)."""
        title = self._title(publication, publication_title(publication))
        problems = []
        if len(title) > TITLE_MAX:
            problems.append(
                _("the title has %(length)d characters; Reddit allows at most %(max)d")
                % {"length": len(title), "max": TITLE_MAX}
            )
        subreddit = self.account.settings.get("subreddit")
        if subreddit:
            problems += problems_from(lambda: self._subreddit_problems(subreddit, title))
        return problems

    def _subreddit_problems(self, subreddit: str, title: str) -> list[str]:
        flair_id = self.account.settings.get("flair_id") or ""
        flairs = None
        with self._client() as client:
            rules = _json(self._send(client, "GET", f"api/v1/{subreddit}/post_requirements"))
            if flair_id or (rules or {}).get("is_flair_required"):
                try:
                    flairs = _json(self._send(client, "GET", f"r/{subreddit}/api/link_flair_v2"))
                except PublishError as exc:
                    # 403: the token lacks the "flair" scope, or the subreddit hides them.
                    if getattr(exc, "status_code", None) not in (403, 404):
                        raise
        rules = rules if isinstance(rules, dict) else {}
        return _title_rule_problems(rules, title, subreddit) + _flair_problems(
            rules, flairs, flair_id, subreddit
        )

    def validate_account(self, account) -> None:
        self.account = account
        granted = set(re.split(r"[\s,]+", account.secrets.get("scope") or "")) - {""}
        missing = [s for s in REQUIRED_SCOPES if granted and s not in granted]
        if missing:
            raise PublishError(
                _(
                    "Reddit did not grant %(scopes)s, which finding a post after a lost answer "
                    "needs: use 'Connect Reddit' on the account's page again"
                )
                % {"scopes": ", ".join(missing)},
                permanent=True,
            )
        with self._client() as client:
            me = _json(self._send(client, "GET", "api/v1/me"))
            if not me.get("name"):
                raise PublishError(
                    _("Reddit did not say who this token belongs to"), permanent=True
                )
            subreddit = account.settings.get("subreddit")
            if not subreddit:
                raise PublishError(_("the account has no subreddit"), permanent=True)
            try:
                about = _json(self._send(client, "GET", f"r/{subreddit}/about"))
            except PublishError as exc:
                if getattr(exc, "status_code", None) in (403, 404):
                    raise PublishError(
                        _("r/%(name)s does not exist or is private") % {"name": subreddit},
                        permanent=True,
                    ) from exc
                raise
            if about.get("kind") != "t5":
                raise PublishError(
                    _("r/%(name)s does not exist") % {"name": subreddit}, permanent=True
                )
            allowed = (about.get("data") or {}).get("submission_type") or "any"
            if allowed not in ("any", self._post_kind()):
                raise PublishError(
                    _("r/%(name)s only accepts %(kind)s posts")
                    % {"name": subreddit, "kind": allowed},
                    permanent=True,
                )


def _submit_answer(response) -> dict:
    """The "json" object of Reddit's answer to /api/submit. The submission went out, so
    an answer we cannot read leaves the outcome unknown."""
    try:
        result = response.json()["json"]
    except (ValueError, TypeError, KeyError) as exc:
        result = exc
    if not isinstance(result, dict):
        raise OutcomeUnknown(
            _("Reddit answered the submission with something we cannot read (%(body)s)")
            % {"body": response.text[:200].strip()}
        )
    return result


def _title_rule_problems(rules: dict, title: str, subreddit: str) -> list[str]:
    """The title against a subreddit's post_requirements."""
    problems = []
    shortest, longest = rules.get("title_text_min_length"), rules.get("title_text_max_length")
    if shortest and len(title) < shortest:
        problems.append(
            _("r/%(sub)s needs a title of at least %(min)d characters (it has %(length)d)")
            % {"sub": subreddit, "min": shortest, "length": len(title)}
        )
    if longest and len(title) > longest:
        problems.append(
            _("r/%(sub)s allows titles of at most %(max)d characters (it has %(length)d)")
            % {"sub": subreddit, "max": longest, "length": len(title)}
        )
    folded = title.casefold()
    required = [w for w in rules.get("title_required_strings") or [] if w]
    if required and not any(w.casefold() in folded for w in required):
        problems.append(
            _("r/%(sub)s needs one of these in the title: %(words)s")
            % {"sub": subreddit, "words": ", ".join(required)}
        )
    banned = [
        w for w in rules.get("title_blacklisted_strings") or [] if w and w.casefold() in folded
    ]
    if banned:
        problems.append(
            _("r/%(sub)s does not allow these in a title: %(words)s")
            % {"sub": subreddit, "words": ", ".join(banned)}
        )
    return problems


def _flair_problems(rules: dict, flairs, flair_id: str, subreddit: str) -> list[str]:
    """A required flair that is not set, or a configured flair id the subreddit does not
    have (`flairs` is its link_flair_v2 list, None when we could not read it)."""
    names = ", ".join(
        f"{f.get('text') or '?'} ({f.get('id')})" for f in flairs or [] if isinstance(f, dict)
    )
    if not flair_id:
        if not rules.get("is_flair_required"):
            return []
        return [
            _("r/%(sub)s requires a flair: set the account's flair id (%(names)s)")
            % {"sub": subreddit, "names": names or _("see the subreddit's flairs")}
        ]
    if flairs is not None and flair_id not in {f.get("id") for f in flairs if isinstance(f, dict)}:
        return [
            _("flair id %(id)s is not one of r/%(sub)s's link flairs (%(names)s)")
            % {"id": flair_id, "sub": subreddit, "names": names or "-"}
        ]
    return []


def _submission_result(post: dict) -> PublishResult:
    permalink = post.get("permalink") or ""
    url = f"https://www.reddit.com{permalink}" if permalink.startswith("/") else permalink
    return PublishResult(external_id=post.get("name", ""), url=url or post.get("url", ""))


def _minutes_in(message: str) -> float | None:
    match = re.search(r"(\d+)\s*(minute|second)", message)
    if not match:
        return None
    return float(match.group(1)) * (60 if match.group(2) == "minute" else 1)
