"""The sponsor disclosure: which labels are approved, and the one place that spells a
page's disclosure for every rendering of it.

Soft articles (advertorials) carry an approved label and a sponsor. Consumer-protection
law (the EU's unfair commercial practices rules, the FTC's endorsement and native
advertising guides, China's Advertising Law) wants the label wherever a reader meets the
piece, before anything else of it: the hub's page, cards and feeds; every channel's body;
the excerpts channels show apart from the body; the title where a channel shows no body
(Reddit link posts); the email subject and the plain-text part; the manual copy. All of
them take the label and its wording from here, so a wording or a rule changes once.

Titles, excerpts and subjects are prefixed in one localised form, the label in brackets:
"[Sponsored] Title" in English, "【广告】标题" in Chinese (full-width brackets carry
their own spacing, so no space follows them). A bracketed tag reads as a mark on the
headline, not as part of it, and leaves the editor's words untouched; it is the form
forum titles use for tags (Reddit's "[OC]", "[Serious]"), mail subjects for list tags,
and Chinese media and mail for 【广告】; the hub's own feeds used it already.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

# The label of a sponsored page that somehow has none (clean() refuses it; data from
# elsewhere may not): sponsored content is never shown undisclosed.
DEFAULT_LABEL = "Sponsored"
# Full-width closing brackets carry their own spacing: nothing is put after them.
FULL_WIDTH_CLOSERS = ("】", "）", "」", "』", "〕")


@dataclass(frozen=True)
class ApprovedDisclosure:
    """One approved label. `label` is stored on the page and shown as written, in its
    own script: it is not translated (the editor picks the one the readers read).
    `email_subject_prefix` opens the subject of every email carrying the page; empty
    means the label in brackets, as on titles."""

    label: str
    verbose_name: str
    email_subject_prefix: str = ""


APPROVED_DISCLOSURES = (
    ApprovedDisclosure("Sponsored", gettext_lazy("Sponsored")),
    ApprovedDisclosure("广告", "广告"),
    ApprovedDisclosure("Advertisement", gettext_lazy("Advertisement")),
    # China's rules for commercial email (互联网电子邮件服务管理办法, art. 13) want
    # "广告" or "AD" at the front of the subject: 赞助内容 alone would not do.
    ApprovedDisclosure("赞助内容", "赞助内容", email_subject_prefix="【广告】"),
)
DISCLOSURE_CHOICES = [(d.label, d.verbose_name) for d in APPROVED_DISCLOSURES]


def approved_disclosure(label: str) -> ApprovedDisclosure | None:
    return next((d for d in APPROVED_DISCLOSURES if d.label == label), None)


def page_language(page) -> str:
    return getattr(page, "language", None) or settings.LANGUAGE_CODE


def disclosure_label(page) -> str:
    """The page's disclosure label; "" for a page that discloses nothing (anything but a
    soft article)."""
    label = (getattr(page, "disclosure_label", "") or "").strip()
    if label:
        return label
    return DEFAULT_LABEL if (getattr(page, "sponsor", "") or "").strip() else ""


def sponsor_line(page, language: str | None = None) -> str:
    """The sponsor line, "Paid for by Acme" (who paid, said plainly: "in partnership
    with" would not say it); "" without a sponsor."""
    sponsor = (getattr(page, "sponsor", "") or "").strip()
    if not sponsor:
        return ""
    with override(language or page_language(page)):
        return _("Paid for by %(sponsor)s") % {"sponsor": sponsor}


def disclosure_text(page, language: str | None = None) -> str:
    """The label and who paid, as plain text ("Sponsored · Paid for by Acme"); "" when
    the page discloses nothing. In the page's language unless `language` is given (the
    hub's own pages speak the visitor's)."""
    label = disclosure_label(page)
    if not label:
        return ""
    return " · ".join(part for part in (label, sponsor_line(page, language)) if part)


def disclosure_html(page, language: str | None = None) -> str:
    """The disclosure as the paragraph that opens a body, escaped:
    `<p><strong>Sponsored</strong> · Paid for by Acme</p>`; "" when none. First in the
    body, so no channel's excerpt or preview can cut it off."""
    label = disclosure_label(page)
    if not label:
        return ""
    line = sponsor_line(page, language)
    if not line:
        return format_html("<p><strong>{}</strong></p>", label)
    return format_html("<p><strong>{}</strong> · {}</p>", label, line)


def bracketed_label(page) -> str:
    """The label in brackets, "[Sponsored]" or "【广告】" (the page's language decides
    which brackets); "" when none."""
    label = disclosure_label(page)
    if not label:
        return ""
    with override(page_language(page)):
        return _("[%(label)s]") % {"label": label}


def _opened_by(prefix: str, text: str) -> str:
    if not prefix or not text or text.startswith(prefix):
        return text
    separator = "" if prefix.endswith(FULL_WIDTH_CLOSERS) else " "
    return f"{prefix}{separator}{text}"


def labelled(text: str, page) -> str:
    """`text` (a title or an excerpt) opened by the page's bracketed label: "[Sponsored]
    Title", "【广告】标题". Unchanged for a page that discloses nothing, for an empty
    text (a channel then makes its own from the body, which opens with the label), and
    for a text that opens with the label already (typed into an override)."""
    return _opened_by(bracketed_label(page), text)


def email_subject_prefix(page) -> str:
    """What opens the subject of an email carrying `page`: its label's own prefix, else
    the label in brackets; "" for a page that discloses nothing."""
    approved = approved_disclosure(disclosure_label(page))
    return (approved.email_subject_prefix if approved else "") or bracketed_label(page)


def labelled_subject(subject: str, page) -> str:
    return _opened_by(email_subject_prefix(page), subject)
