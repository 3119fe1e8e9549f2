"""Connecting a Reddit account to a ChannelAccount with python-social-auth's Reddit
backend, outside the sign-in pipeline.

We use only the backend's authorisation URL (state handling included) and its token
exchange. We never call `complete()`/`auth_complete()`/`do_auth()`, so no pipeline
step runs: no user is created, nobody is signed in, no UserSocialAuth row is written.
The tokens go into the channel account's encrypted secrets.

Settings: SOCIAL_AUTH_REDDIT_CHANNEL_KEY / _SECRET (the Reddit app's client id and
secret, env REDDIT_CLIENT_ID / REDDIT_CLIENT_SECRET); the app's redirect URI must be
<BASE_URL>/admin/channels/reddit/callback/.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from social_core.backends.reddit import RedditOAuth2
from social_django.utils import load_strategy

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
    Raises social_core exceptions (denied, state mismatch, token errors) or KeyError
    when the state was not started from this session."""
    backend = backend_for(request, redirect_uri)
    backend.process_error(backend.data)
    state = backend.validate_state()
    account_pk = request.session.pop(SESSION_PREFIX + state)
    response = backend.request_access_token(
        backend.access_token_url(),
        method="POST",
        data=backend.auth_complete_params(state),
        headers=backend.auth_headers(),
        auth=backend.auth_complete_credentials(),
    )
    tokens = {
        "access_token": response["access_token"],
        "expires_at": time.time() + float(response.get("expires_in") or 3600),
        "scope": response.get("scope", ""),
    }
    if response.get("refresh_token"):
        tokens["refresh_token"] = response["refresh_token"]
    return account_pk, tokens
