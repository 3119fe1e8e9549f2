"""Channel kind -> adapter class. Adding a channel is a folder and one line here.

Classes are named by dotted path and imported on first use, so one channel's optional
dependencies never break another's, and the list stays one line per channel.
"""

from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

ADAPTERS: dict[str, tuple[str, str]] = {
    "blog/wagtail_site": ("channels.blog.wagtail_site.WagtailSiteAdapter", _("Blog: this hub")),
    "blog/wordpress": ("channels.blog.wordpress.WordPressAdapter", _("Blog: WordPress")),
    "blog/metaweblog": (
        "channels.blog.metaweblog.MetaWeblogAdapter",
        _("Blog: MetaWeblog (cnblogs…)"),
    ),
    "forum/discourse": ("channels.forum.discourse.DiscourseAdapter", _("Forum: Discourse")),
    "forum/reddit": ("channels.forum.reddit.RedditAdapter", _("Forum: Reddit")),
    "email/smtp": ("channels.email.adapter.EmailAdapter", _("Email (SMTP)")),
    "ezine/email": ("channels.ezine.adapter.EZineAdapter", _("E-zine")),
    "manual/placement": ("channels.manual.adapter.ManualPlacementAdapter", _("Manual placement")),
}


# The channel families (the part of a kind before "/"), as people read them. Codes stay
# in data, URLs and UTM parameters; every screen shows the label.
FAMILY_LABELS = {
    "email": _("Email"),
    "ezine": _("E-zine"),
    "blog": _("Blog"),
    "forum": _("Forum"),
    "manual": _("Manual placement"),
}


def family_label(code: str) -> str:
    """A channel family in the reader's language; an unknown code (a hand-made tracked
    link's channel) as written, "" for none."""
    label = FAMILY_LABELS.get(code)
    return str(label) if label is not None else (code or "")


class UnknownChannelKind(LookupError):
    pass


def kind_choices():
    return [(kind, label) for kind, (_path, label) in ADAPTERS.items()]


def get_adapter_class(kind: str):
    try:
        path, _label = ADAPTERS[kind]
    except KeyError:
        raise UnknownChannelKind(kind) from None
    return import_string(path)


def get_adapter(account):
    """The adapter for a ChannelAccount. Raises UnknownChannelKind."""
    return get_adapter_class(account.kind)(account)
