"""All admin registration for audiences: model viewsets (with their Import CSV and
Export CSV buttons), the segment builder's form, CSV import/export views. The subscriber
and mailing-list listings count, search and paginate as campaigns.audiences.listing
describes (fast at millions of subscribers)."""

from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.admin.widgets.button import Button, HeaderButton
from wagtail.log_actions import log

from . import admin_views, listing, services
from .admin_forms import SegmentForm, SubscriberForm
from .models import MailingList, Segment, Subscriber, Suppression


def import_url(mailing_list=None) -> str:
    if mailing_list is None:
        return reverse("audiences_import_any")
    return reverse("audiences_import", args=[mailing_list.pk])


def export_url(mailing_list=None) -> str:
    if mailing_list is None:
        return reverse("audiences_export_all")
    return reverse("audiences_export", args=[mailing_list.pk])


def _csv_buttons(user, mailing_list=None, button_class=Button) -> list:
    """Import and export buttons for whoever may use them (the views check again)."""
    buttons = []
    if user.has_perm("audiences.add_subscriber"):
        buttons.append(
            button_class(
                _("Import CSV"), url=import_url(mailing_list), icon_name="upload", priority=40
            )
        )
    if user.has_perm("audiences.view_subscriber"):
        buttons.append(
            button_class(
                _("Export CSV"), url=export_url(mailing_list), icon_name="download", priority=50
            )
        )
    return buttons


class MailingListIndexView(generic.IndexView):
    def get_table(self, object_list):
        # The member-count column's figures for the whole page in one query.
        rows = list(object_list)
        counts = listing.member_counts(rows)
        for mailing_list in rows:
            mailing_list.member_count_info = counts[mailing_list.pk]
        return super().get_table(rows)

    def get_list_more_buttons(self, instance):
        return super().get_list_more_buttons(instance) + _csv_buttons(self.request.user, instance)


class MailingListEditView(generic.EditView):
    @cached_property
    def header_buttons(self):
        return super().header_buttons + _csv_buttons(
            self.request.user, self.object, button_class=HeaderButton
        )


class SubscriberIndexView(generic.IndexView):
    paginator_class = listing.AudiencePaginator

    @cached_property
    def header_buttons(self):
        return super().header_buttons + _csv_buttons(self.request.user, button_class=HeaderButton)

    def get_list_buttons(self, instance):
        # No "More" menu on each row (Edit, Copy, Delete): it was two fifths of the
        # page's rendering. The address links to the subscriber's page, which has Delete;
        # copying a subscriber (a unique address) is of no use. One plain button leads to
        # the person page (campaigns.people, by URL name: audiences imports nothing above
        # it).
        if not self.can_see_people:
            return []
        url = reverse("people_person", args=[instance.pk])
        return [Button(_("Person page"), url=url, icon_name="user", priority=5)]

    @cached_property
    def can_see_people(self) -> bool:
        return self.request.user.has_perm("people.view_person")

    def search_queryset(self, queryset):
        if not self.is_searching:
            return queryset
        self.quick_matches = listing.quick_search_matches(queryset, self.search_query)
        return listing.search_subscribers(queryset, self.search_query)

    quick_matches = ()

    def get_paginator(self, queryset, per_page, **kwargs):
        # Unsearched and unfiltered: the whole table, whose size the planner knows.
        whole_table = not (self.is_searching or self.is_filtering)
        return super().get_paginator(
            queryset,
            per_page,
            whole_table=whole_table,
            quick_matches=self.quick_matches,
            **kwargs,
        )


def _field_label(name):
    return capfirst(Subscriber._meta.get_field(name).verbose_name)


class SubscriberEditView(generic.EditView):
    """The form, then the subscriber's lists (the first few, see
    listing.subscriber_memberships) and tags, read-only."""

    template_name = "audiences/admin/subscriber_edit.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(listing.subscriber_memberships(self.object))
        return context


class MailingListViewSet(ModelViewSet):
    model = MailingList
    icon = "list-ul"
    form_fields = ["name", "slug", "description", "is_public", "double_opt_in", "consent_text"]
    list_display = [
        "name",
        "slug",
        admin_views.MemberCountColumn(
            "subscriber_count", label=capfirst(Subscriber._meta.verbose_name_plural)
        ),
        admin_views.YesNoColumn(
            "is_public", label=MailingList._meta.get_field("is_public").verbose_name
        ),
        admin_views.YesNoColumn(
            "double_opt_in", label=MailingList._meta.get_field("double_opt_in").verbose_name
        ),
    ]
    search_fields = ["name", "slug"]
    add_to_admin_menu = False
    index_view_class = MailingListIndexView
    edit_view_class = MailingListEditView


class SubscriberViewSet(ModelViewSet):
    model = Subscriber
    icon = "user"
    # Sortable only by what an index orders at millions of rows: the address (unique
    # index) and the creation order (the primary key follows it).
    list_display = [
        "email",
        Column("name", label=_field_label("name")),
        Column("get_language_display", label=_field_label("language")),
        DateColumn("created_at", label=_field_label("created_at"), sort_key="pk"),
    ]
    filterset_class = admin_views.SubscriberFilterSet
    search_fields = ["email", "name"]  # searched by listing.search_subscribers
    index_view_class = SubscriberIndexView
    edit_view_class = SubscriberEditView
    index_results_template_name = "audiences/admin/subscriber_results.html"

    def get_form_class(self, for_update=False):
        return SubscriberForm


class SegmentViewSet(ModelViewSet):
    model = Segment
    icon = "filter"
    list_display = ["name", "mailing_list"]

    def get_form_class(self, for_update=False):
        return SegmentForm


class SuppressionCreateView(generic.CreateView):
    """Through services.suppress_address, which logs it on the person's timeline."""

    def save_instance(self):
        data = self.form.cleaned_data
        instance = services.suppress_address(
            data["email"], data["reason"], data.get("detail") or "", actor=self.request.user
        )
        log(instance, "wagtail.create", user=self.request.user)
        return instance


class SuppressionDeleteView(generic.DeleteView):
    """Through services.unsuppress_address, which logs it on the person's timeline."""

    def delete_action(self):
        log(self.object, "wagtail.delete", user=self.request.user)
        services.unsuppress_address(self.object.email, actor=self.request.user)


class SuppressionViewSet(ModelViewSet):
    model = Suppression
    add_view_class = SuppressionCreateView
    delete_view_class = SuppressionDeleteView
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
        path("audiences/import/", admin_views.import_upload, name="audiences_import_any"),
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
            "audiences/import/job/<int:job_id>/errors.csv",
            admin_views.import_errors,
            name="audiences_import_errors",
        ),
        path("audiences/export/", admin_views.export_list, name="audiences_export_all"),
        path(
            "audiences/export/<int:list_id>/",
            admin_views.export_list,
            name="audiences_export",
        ),
        path(
            "audiences/segments/count/",
            admin_views.segment_count,
            name="audiences_segment_count",
        ),
    ]
