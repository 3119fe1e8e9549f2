"""All admin registration for audiences: model viewsets, CSV import/export views."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from . import admin_views
from .models import MailingList, Segment, Subscriber, Suppression


class MailingListViewSet(ModelViewSet):
    model = MailingList
    icon = "list-ul"
    form_fields = ["name", "slug", "description", "is_public", "double_opt_in", "consent_text"]
    list_display = ["name", "slug", "is_public", "double_opt_in"]
    search_fields = ["name", "slug"]
    add_to_admin_menu = False


class SubscriberViewSet(ModelViewSet):
    model = Subscriber
    icon = "user"
    form_fields = ["email", "name", "language", "timezone", "attributes"]
    list_display = ["email", "name", "language", "created_at"]
    list_filter = ["language"]
    search_fields = ["email", "name"]


class SegmentViewSet(ModelViewSet):
    model = Segment
    icon = "filter"
    form_fields = ["name", "mailing_list", "filters"]
    list_display = ["name", "mailing_list"]


class SuppressionViewSet(ModelViewSet):
    model = Suppression
    icon = "cross"
    form_fields = ["email", "reason", "detail"]
    list_display = ["email", "reason", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email"]


class AudiencesGroup(ModelViewSetGroup):
    menu_label = _("Audiences")
    menu_icon = "group"
    menu_order = 260
    items = (MailingListViewSet, SubscriberViewSet, SegmentViewSet, SuppressionViewSet)


@hooks.register("register_admin_viewset")
def register_audiences():
    return AudiencesGroup()


@hooks.register("register_admin_urls")
def register_audience_urls():
    return [
        path(
            "audiences/import/<int:list_id>/",
            admin_views.import_upload,
            name="audiences_import",
        ),
        path(
            "audiences/import/job/<int:job_id>/",
            admin_views.import_status,
            name="audiences_import_status",
        ),
        path(
            "audiences/export/<int:list_id>/",
            admin_views.export_list,
            name="audiences_export",
        ),
    ]


def import_url(mailing_list) -> str:
    return reverse("audiences_import", args=[mailing_list.pk])
