"""Blog channels. The feed-verification settings the external blog adapters share."""

from django.utils.translation import gettext_lazy

from channels.base import AccountField, FieldType
from channels.verification import DEFAULT_WINDOW_MINUTES

# Read by channels.verification (feed_url_for, window_for) for the blogs it verifies.
FEED_VERIFICATION_SETTINGS = (
    AccountField(
        "verify_feed_url",
        gettext_lazy("Feed URL for publish verification"),
        FieldType.URL,
        help_text=gettext_lazy(
            "Optional. The blog's RSS or Atom feed. When set, each published post is "
            "looked for in it and the campaign owner is told if it does not appear."
        ),
        max_length=1000,
    ),
    AccountField(
        "verify_window_minutes",
        gettext_lazy("Verification window (minutes)"),
        FieldType.INTEGER,
        help_text=gettext_lazy("How long the post may take to appear in the feed."),
        default=DEFAULT_WINDOW_MINUTES,
        min_value=1,
        max_value=7 * 24 * 60,
    ),
)
