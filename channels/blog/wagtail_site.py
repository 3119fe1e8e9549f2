"""Blog channel "this hub": publish a page of our own Wagtail site at the scheduled time.

`publish` makes the page's latest approved revision live (one approved in the workflow
and waiting, or the live one) and returns the page's public URL. `find_existing` says
the post exists when the page is live at that revision, so a retry after an unknown
outcome never publishes twice. No network: everything is our own database.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from wagtail.models import Site

from channels.base import ChannelAdapter, PublishError, PublishResult, Rendered
from channels.render.common import build_rendered
from content.approval import approved_revision
from content.disclosure import disclosure_html


class WagtailSiteAdapter(ChannelAdapter):
    kind = "blog/wagtail_site"
    label = _("Blog: this hub")

    def _page(self, publication):
        page = publication.page.specific
        page.refresh_from_db()
        return page

    def _approved_revision(self, page):
        revision = approved_revision(page)
        if revision is None:
            raise PublishError(
                _("“%(title)s” has no approved revision: publish it or approve it first.")
                % {"title": page.title},
                permanent=True,
            )
        return revision

    def render(self, publication) -> Rendered:
        page = self._page(publication)
        revision = self._approved_revision(page)
        approved = revision.as_object()
        excerpt = publication.excerpt_override or (
            approved.get_excerpt() if hasattr(approved, "get_excerpt") else ""
        )
        # The disclosure first, as the hub's page shows it above everything else.
        html = disclosure_html(approved)
        body = getattr(approved, "body", None)
        if body is not None:
            html += str(body.render_as_block()) if hasattr(body, "render_as_block") else str(body)
        # Title and excerpt as approved (not stripped, no fallback to the search
        # description), no category (our own blog has none), the live URL as canonical.
        return build_rendered(
            approved,
            publication,
            html=html,
            text=strip_tags(html),
            canonical_url=page.get_full_url() or "",
            title=publication.title_override or approved.title,
            excerpt=excerpt,
            category="",
            extra={"revision_id": revision.pk},
        )

    def publish(self, publication, rendered: Rendered) -> PublishResult:
        page = self._page(publication)
        revision = self._approved_revision(page)
        if not (page.live and page.live_revision_id == revision.pk):
            with transaction.atomic():
                if revision.approved_go_live_at is not None:
                    # Approved for a later go-live in Wagtail; the campaign's time wins,
                    # so publish now instead of re-scheduling it.
                    content = dict(revision.content)
                    content["go_live_at"] = None
                    revision.content = content
                    revision.save(update_fields=["content"])
                revision.publish(log_action=True, skip_permission_checks=True)
            page.refresh_from_db()
        url = page.get_full_url()
        if not url:
            raise PublishError(
                _("“%(title)s” is not inside a site, so it has no public URL.")
                % {"title": page.title},
                permanent=True,
            )
        return PublishResult(external_id=str(revision.pk), url=url, extra={"page_id": page.pk})

    def find_existing(self, publication) -> PublishResult | None:
        page = self._page(publication)
        try:
            revision = self._approved_revision(page)
        except PublishError:
            revision = None
        if (
            page.live
            and page.live_revision_id
            and (revision is None or page.live_revision_id == revision.pk)
        ):
            return PublishResult(
                external_id=str(page.live_revision_id), url=page.get_full_url() or ""
            )
        return None

    def validate_account(self, account) -> None:
        if not Site.objects.exists():
            raise PublishError(_("No Wagtail site is configured."), permanent=True)
