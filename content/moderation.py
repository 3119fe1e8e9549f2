"""Moderation that fits the campaign schedule: a workflow task whose approval does not
put a page live on the hub before the campaign's slot for it.

Wagtail's own group approval ends the workflow with "Approve and Publish", which makes
the page live at once. This task approves the same way, but when a campaign publishes
the page on this hub later (content.approval.hub_slot_for), the approved revision gets
that slot as its go-live time first: Wagtail then keeps it approved but unpublished
(`approved_go_live_at`, shown as "Scheduled"), content.approval counts it approved so
the other channels (email, WordPress...) go out at their own slots, and the hub
publication makes it live at its slot. A page no campaign puts on the hub is approved
and published as Wagtail does it.

The model is imported by content.models, so Django registers it with the app."""

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from wagtail.models import AbstractGroupApprovalTask

from .approval import hub_slot_for


def hold_until_hub_slot(page):
    """Write the page's hub slot as the go-live time of its latest revision, which the
    workflow is about to publish; return the slot, or None when there is none (and
    leave the revision as it is, so approving publishes at once)."""
    slot = hub_slot_for(page)
    if slot is None:
        return None
    revision = page.get_latest_revision()
    approved = revision.as_object()
    approved.go_live_at = slot
    # serializable_data is how Wagtail itself writes a revision's content, so the
    # go-live reads back as the same aware datetime in revision.publish().
    revision.content = approved.serializable_data()
    revision.save(update_fields=["content"])
    return slot


def follow_hub_slot(page):
    """Keep an approved, waiting revision's go-live on the page's hub slot after the
    campaign moves it, so Wagtail's "Scheduled" shows the time the hub publication
    will make it live. Nothing changes when no revision waits, or no slot is left
    (the hub publication was cancelled: the approval stands, as Wagtail scheduled it)."""
    waiting = page.revisions.filter(approved_go_live_at__isnull=False).first()
    slot = hub_slot_for(page) if waiting is not None else None
    if slot is None or slot == waiting.approved_go_live_at:
        return None
    approved = waiting.as_object()
    approved.go_live_at = slot
    # update(), not save(): a revision save reads as an edit to the approval
    # receivers, and this is the same approval at a new time.
    type(waiting).objects.filter(pk=waiting.pk).update(
        approved_go_live_at=slot, content=approved.serializable_data()
    )
    if not page.live:
        type(page).objects.filter(pk=page.pk).update(go_live_at=slot)
    return slot


class SlotApprovalTask(AbstractGroupApprovalTask):
    """Members of the chosen groups approve; the page goes live at its campaign's hub
    slot, or at once when no campaign puts it on the hub."""

    def get_actions(self, obj, user):
        actions = super().get_actions(obj, user)
        slot = hub_slot_for(obj) if actions else None
        if slot is None:
            return actions
        labels = approval_labels(slot)
        return [
            (name, labels[1] if with_comment else labels[0], with_comment)
            if name == "approve"
            else (name, label, with_comment)
            for name, label, with_comment in actions
        ]

    @transaction.atomic
    def on_action(self, task_state, user, action_name, **kwargs):
        if action_name == "approve":
            # Before the approval: approving the last task publishes the latest
            # revision (WorkflowState.finish), which must already carry the slot.
            hold_until_hub_slot(task_state.workflow_state.content_object.specific)
        return super().on_action(task_state, user, action_name, **kwargs)

    @classmethod
    def get_description(cls):
        return _(
            "Members of the chosen groups approve. A page a campaign publishes on this hub "
            "goes live at the campaign's time, not when it is approved."
        )

    class Meta:
        verbose_name = _("campaign slot approval task")
        verbose_name_plural = _("campaign slot approval tasks")


def approval_labels(slot):
    """The moderator's two approve actions (without and with a comment) for a page that
    goes live at `slot`, in the moderator's time zone."""
    when = formats.date_format(timezone.localtime(slot), "DATETIME_FORMAT")
    return (
        _("Approve for its campaign slot (live %(when)s)") % {"when": when},
        _("Approve for its campaign slot, with comment (live %(when)s)") % {"when": when},
    )
