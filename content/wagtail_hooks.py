"""Wagtail admin hooks of the content hub: SEO analysis stored on every save."""

import logging

from wagtail import hooks

from .seo import store_page_analysis

logger = logging.getLogger(__name__)


def _store_analysis(request, page):
    if not hasattr(page, "focus_keyphrase"):
        return None
    try:
        store_page_analysis(page, page.latest_revision)
    except Exception:  # noqa: BLE001 - an analysis failure must never block saving a page
        logger.exception("SEO analysis failed for page %s", page.pk)
    return None


hooks.register("after_create_page", _store_analysis)
hooks.register("after_edit_page", _store_analysis)
