"""Connecting a Reddit account to a ChannelAccount with python-social-auth's Reddit
backend, outside the sign-in pipeline.

We use only the backend's authorisation URL (state handling included) and the
parameters of its token exchange, which goes out through channels.http like every other
request (social_core would make it with `requests`, unguarded). We never call `complete()`/`auth_complete()`/`do_auth()`, so no pipeline
step runs: no user is created, nobody is signed in, no UserSocialAuth row is written.
The tokens go into the channel account's encrypted secrets.

Settings: SOCIAL_AUTH_REDDIT_CHANNEL_KEY / _SECRET (the Reddit app's client id and
secret, env REDDIT_CLIENT_ID / REDDIT_CLIENT_SECRET); the app's redirect URI must be
<BASE_URL>/admin/channels/reddit/callback/.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from django.utils.translation import gettext as _
from social_core.backends.reddit import RedditOAuth2
from social_django.utils import load_strategy

from channels.base import PublishError
from channels.http import client_for_account, send
from channels.models import ChannelAccount

from .reddit import user_agent

SESSION_PREFIX = "channels_reddit_connect:"


class RedditChannelBackend(RedditOAuth2):
    """Reddit OAuth2 for posting as a channel account, never for signing in. Not listed
    in AUTHENTICATION_BACKENDS; its settings use the REDDIT_CHANNEL prefix so they can
    never be confused with a staff sign-in provider."""

    name = "reddit-channel"
    # submit: post; identity: whose token it is; history: /user/<name>/submitted, the
    # lookup that keeps a lost answer from becoming a second post; read: a subreddit's
    # /about; flair: its link flairs, for the checks before scheduling.
    DEFAULT_SCOPE = ["submit", "identity", "history", "read", "flair"]

    def auth_extra_arguments(self):
        extra = super().auth_extra_arguments()
        # A permanent grant gives a refresh token; "temporary" would expire in an hour.
        extra["duration"] = "permanent"
        return extra


def backend_for(request, redirect_uri: str) -> RedditChannelBackend:
    return RedditChannelBackend(load_strategy(request), redirect_uri=redirect_uri)


def start_connect(request, account, redirect_uri: str) -> str:
    """The Reddit authorisation URL; remembers which account the state belongs to."""
    backend = backend_for(request, redirect_uri)
    url = backend.auth_url()
    state = parse_qs(urlsplit(url).query).get("state", [""])[0]
    request.session[SESSION_PREFIX + state] = account.pk
    return url


def finish_connect(request, redirect_uri: str) -> tuple[int, dict]:
    """Validate the callback and exchange the code. Returns (account pk, token data).
    Raises social_core exceptions (denied, state mismatch), PublishError (the code
    exchange failed) or KeyError when the state was not started from this session."""
    backend = backend_for(request, redirect_uri)
    backend.process_error(backend.data)
    state = backend.validate_state()
    account_pk = request.session.pop(SESSION_PREFIX + state)
    response = _exchange_code(backend, state, account_pk)
    tokens = {
        "access_token": response["access_token"],
        "expires_at": time.time() + float(response.get("expires_in") or 3600),
        "scope": response.get("scope", ""),
    }
    if response.get("refresh_token"):
        tokens["refresh_token"] = response["refresh_token"]
    return account_pk, tokens


def _exchange_code(backend: RedditChannelBackend, state: str, account_pk: int) -> dict:
    """The code exchange, through the one guarded client (channels.http: SSRF guard,
    size cap, deadline) rather than social_core's own `requests` call. Raises
    PublishError when it fails or the answer holds no access token."""
    account = ChannelAccount.objects.get(pk=account_pk)
    headers = {"User-Agent": user_agent(account), **backend.auth_headers()}
    with client_for_account(account, headers=headers) as client:
        answer = send(
            client,
            "POST",
            backend.access_token_url(),
            data=backend.auth_complete_params(state),
            may_create=False,  # a code is spent, nothing is created
        )
    try:
        data = answer.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("access_token"):
        raise PublishError(_("Reddit's answer holds no access token"), permanent=True)
    return data
