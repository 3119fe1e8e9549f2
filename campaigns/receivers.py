"""Content approval follows the page: an unapproved edit of scheduled content sends its
publications back for approval, approving it again reschedules them
(CAMPAIGNS_EDIT_REQUIRES_REAPPROVAL, default on). The check runs after commit, so a
"save and publish" in one transaction never holds anything.

`hub_slot_requested` (content.approval) is answered here: the page's next slot on
this hub, so approving the content for a campaign does not put it live before then.

Connected at import; `CampaignsConfig.ready` imports this module."""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from wagtail.models import Page, Revision
from wagtail.signals import page_published, page_unpublished

from content.approval import hub_slot_requested

from .models import Publication
from .services.approval import HUB_KIND, follow_page_hub_slot, hub_slot, reconcile_page_approval


def _reconcile_later(page_id):
    transaction.on_commit(lambda: reconcile_page_approval(page_id))


@receiver(post_save, sender=Revision, dispatch_uid="campaigns_revision_saved")
def revision_saved(sender, instance, raw=False, **kwargs):
    if raw or instance.base_content_type_id is None:
        return
    if ContentType.objects.get_for_id(instance.base_content_type_id).model_class() is not Page:
        return
    page_id = int(instance.object_id)
    if (
        Publication.objects.filter(page_id=page_id)
        .exclude(status__in=(Publication.Status.PUBLISHED, Publication.Status.CANCELLED))
        .exists()
    ):
        _reconcile_later(page_id)


@receiver(page_published, dispatch_uid="campaigns_page_published")
@receiver(page_unpublished, dispatch_uid="campaigns_page_unpublished")
def page_state_changed(sender, instance, **kwargs):
    if Publication.objects.filter(page_id=instance.pk, held_for_reapproval=True).exists() or (
        not instance.live
        and Publication.objects.filter(
            page_id=instance.pk,
            status__in=(Publication.Status.SCHEDULED, Publication.Status.QUEUED),
        ).exists()
    ):
        _reconcile_later(instance.pk)


@receiver(hub_slot_requested, dispatch_uid="campaigns_hub_slot")
def answer_hub_slot(sender, page, **kwargs):
    return hub_slot(page.pk)


@receiver(post_save, sender=Publication, dispatch_uid="campaigns_hub_publication_saved")
def hub_publication_saved(sender, instance, raw=False, **kwargs):
    """A hub publication moved or ended: content approved for its slot follows it."""
    if raw or instance.channel_account.kind != HUB_KIND:
        return
    page_id = instance.page_id
    transaction.on_commit(lambda: follow_page_hub_slot(page_id))
