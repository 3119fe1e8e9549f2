"""Wagtail admin hooks of the content hub: the SEO analysis announced on every save
(analytics stores it per revision, see content.seo.pages); the moderator's approve
actions named for what they do (content.moderation); no autosave on "add page"."""

import logging

from django.http import JsonResponse
from django.utils.translation import gettext as _
from wagtail import hooks
from wagtail.admin.action_menu import WorkflowMenuItem

from .approval import hub_slot_for
from .moderation import SlotApprovalTask, approval_labels
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


@hooks.register("construct_page_action_menu")
def _name_slot_approval(menu_items, request, context):
    """Wagtail appends "and Publish" to the last task's approve actions. A page waiting
    for its campaign's hub slot is not published by the approval, so the moderator
    sees the task's own labels (with the go-live time) instead."""
    page = context.get("page")
    task = page.current_workflow_task if page is not None else None
    if not isinstance(task, SlotApprovalTask):
        return
    slot = hub_slot_for(page)
    if slot is None:
        return
    plain, with_comment = approval_labels(slot)
    for item in menu_items:
        if isinstance(item, WorkflowMenuItem) and item.name == "approve":
            item.label = with_comment if item.launch_modal else plain


@hooks.register("before_create_page")
def _refuse_autosave_on_create(request, parent_page, page_class):
    """Creating a page is never autosaved: an autosave racing the first Save created
    the page twice, and one fired from an abandoned form left an orphan draft. The
    create template starts no autosave (wagtailadmin/pages/create.html); this refuses
    one from a form loaded before that, in the JSON shape Wagtail's autosave reads.
    The edit view, where the page exists, autosaves as usual."""
    if request.method == "POST" and not request.accepts("text/html"):
        return JsonResponse(
            {
                "success": False,
                "error_code": "autosave_on_create",
                "error_message": _("Save the page once before it can be autosaved."),
            },
            status=400,
        )
    return None
