"""Wagtail admin hooks of the content hub: the SEO analysis announced on every save
(analytics stores it per revision, see content.seo.pages)."""

import logging

from wagtail import hooks

from .seo import announce_page_analysis

logger = logging.getLogger(__name__)


def _analyse_saved_page(request, page):
    if not hasattr(page, "focus_keyphrase"):
        return None
    try:
        announce_page_analysis(page, page.latest_revision)
    except Exception:  # noqa: BLE001 - an analysis failure must never block saving a page
        logger.exception("SEO analysis failed for page %s", page.pk)
    return None


hooks.register("after_create_page", _analyse_saved_page)
hooks.register("after_edit_page", _analyse_saved_page)
