"""The content chooser of the publication form: Wagtail's chooser modal over the page
types a publication can carry (blog posts, soft articles, email and e-zine issues),
searchable by title, with each page's type, status, language and last edit, so twin
titles can be told apart. Index and home pages are not offered."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.ui.tables import Column, DateColumn, LiveStatusTagColumn
from wagtail.admin.views.generic import chooser as chooser_views
from wagtail.admin.viewsets.chooser import ChooserViewSet
from wagtail.admin.widgets.chooser import BaseChooser
from wagtail.models import Page

from content.models import (
    LANGUAGE_CHOICES,
    BlogPostPage,
    EmailIssuePage,
    EZineIssuePage,
    SoftArticlePage,
)

PUBLISHABLE_MODELS = [BlogPostPage, SoftArticlePage, EmailIssuePage, EZineIssuePage]


def register_publishable(*models) -> None:
    """Offer more page types to publications (an app's AppConfig.ready(): surveys)."""
    for model in models:
        if model not in PUBLISHABLE_MODELS:
            PUBLISHABLE_MODELS.append(model)


# Whoever may add or change a publication may look through the content to pick from.
CHOOSER_PERMISSIONS = ("campaigns.add_publication", "campaigns.change_publication")


def publishable_pages():
    return Page.objects.type(*PUBLISHABLE_MODELS)


def _type_name(page) -> str:
    return str(page.specific_class._meta.verbose_name) if page.specific_class else ""


def _language_name(page) -> str:
    code = getattr(page.specific_deferred, "language", "") or ""
    return str(dict(LANGUAGE_CHOICES).get(code, code))


def describe(page) -> str:
    """ "Title · type · status" for the chosen value: twin titles stay apart."""
    return f"{page.title} · {_type_name(page)} · {page.status_string}"


class ContentFilterForm(BaseFilterForm):
    # A plain substring match: the search index splits Chinese titles poorly, and a
    # marketer types part of a title they know.
    q = forms.CharField(
        label=_("Search term"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Search by title")}),
    )
    content_type = forms.ChoiceField(
        label=_("Type"),
        required=False,
        widget=forms.Select(attrs={"data-chooser-modal-search-filter": True}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["content_type"].choices = [("", _("All types"))] + [
            (model._meta.model_name, model._meta.verbose_name) for model in PUBLISHABLE_MODELS
        ]

    def filter(self, objects):
        objects = super().filter(objects)
        query = (self.cleaned_data.get("q") or "").strip()
        if query:
            objects = objects.filter(title__icontains=query)
            self.is_searching = True
            self.search_query = query
        kind = self.cleaned_data.get("content_type")
        for model in PUBLISHABLE_MODELS:
            if model._meta.model_name == kind:
                objects = objects.type(model)
        return objects


class PermissionCheckedMixin:
    def dispatch(self, request, *args, **kwargs):
        if not any(request.user.has_perm(perm) for perm in CHOOSER_PERMISSIONS):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ContentListingMixin(PermissionCheckedMixin):
    filter_form_class = ContentFilterForm
    ordering = ["-latest_revision_created_at", "-pk"]
    per_page = 20

    def get_object_list(self):
        return publishable_pages()

    @property
    def columns(self):
        return [
            self.title_column,
            Column("type", label=_("Type"), accessor=_type_name),
            LiveStatusTagColumn(label=_("Status"), sort_key=None),
            Column("language", label=_("Language"), accessor=_language_name),
            DateColumn("latest_revision_created_at", label=_("Last edited"), sort_key=None),
        ]


class ContentChooseView(ContentListingMixin, chooser_views.ChooseView):
    pass


class ContentChooseResultsView(ContentListingMixin, chooser_views.ChooseResultsView):
    pass


class ContentChosenView(PermissionCheckedMixin, chooser_views.ChosenView):
    def get_object(self, pk):
        return publishable_pages().get(pk=pk)

    def get_display_title(self, instance):
        return describe(instance)


class ContentChooserWidget(BaseChooser):
    def get_display_title(self, instance):
        return describe(instance)


class ContentChooserViewSet(ChooserViewSet):
    model = Page
    icon = "doc-full"
    choose_one_text = _("Choose content")
    choose_another_text = _("Choose other content")
    edit_item_text = _("Edit this content")
    base_widget_class = ContentChooserWidget
    choose_view_class = ContentChooseView
    choose_results_view_class = ContentChooseResultsView
    chosen_view_class = ContentChosenView
    # Only the publication form uses this chooser; Wagtail's own page chooser stays the
    # widget for every other link to a page.
    register_widget = False


content_chooser_viewset = ContentChooserViewSet(
    "campaigns_content_chooser", url_prefix="campaigns/content-chooser"
)


def content_chooser_widget():
    return content_chooser_viewset.widget_class()
