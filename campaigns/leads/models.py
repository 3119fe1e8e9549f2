"""Landing pages with a form (Wagtail's form builder) and the answers they collect.

A LandingPage is a hub page like the others (the same SEO fields and analysis), with
form fields an editor builds (LeadFormField: Wagtail's field types plus name, phone and
company, which also fill the subscriber's record), an optional mailing list the reader
may tick to join (its consent text shown, its double opt-in honoured), and a thank-you
message or page. Every valid post is kept as a LeadSubmission, with the subscriber it
created or matched. What a post does lives in services.py; the page's own `serve` only
parses, limits and renders.
"""

from django.db import models
from django.utils.html import strip_tags
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.forms import WagtailAdminFormPageForm
from wagtail.contrib.forms.models import (
    FORM_FIELD_CHOICES,
    AbstractForm,
    AbstractFormField,
    AbstractFormSubmission,
)
from wagtail.fields import RichTextField

from content.models import LANGUAGE_CHOICES, SeoFieldsMixin
from content.page_forms import ContentPageForm

from .forms import LeadFormBuilder
from .panels import EmbedCodePanel

# The field types that also fill the subscriber's record (besides "email").
PERSON_FIELD_CHOICES = (
    ("name", _("Name")),
    ("phone", _("Phone")),
    ("company", _("Company")),
)
LEAD_FIELD_CHOICES = (*PERSON_FIELD_CHOICES, *FORM_FIELD_CHOICES)
# The submission's own columns in the admin's list and export (a field's clean name is
# ascii_snake_case of its label, never with a leading underscore).
SUBSCRIBER_KEY = "_subscriber"
SUBSCRIBE_KEY = "_subscribe"


class LandingPageForm(ContentPageForm, WagtailAdminFormPageForm):
    """A slug from the title on a fast Save (content pages) and the form builder's own
    checks (no two fields with the same name)."""


class LeadFormField(AbstractFormField):
    page = ParentalKey("LandingPage", on_delete=models.CASCADE, related_name="form_fields")
    field_type = models.CharField(
        verbose_name=_("field type"), max_length=16, choices=LEAD_FIELD_CHOICES
    )
    field_type.required_on_save = True

    class Meta(AbstractFormField.Meta):
        verbose_name = _("form field")
        verbose_name_plural = _("form fields")


class LandingPage(SeoFieldsMixin, AbstractForm):
    base_form_class = LandingPageForm
    form_builder = LeadFormBuilder

    language = models.CharField(
        _("language"), max_length=10, choices=LANGUAGE_CHOICES, default="en"
    )
    intro = RichTextField(
        _("introduction"), blank=True, features=["h2", "h3", "bold", "italic", "link", "ul", "ol"]
    )
    submit_label = models.CharField(
        _("button label"), max_length=60, blank=True, help_text=_("Leave empty for “Send”.")
    )
    mailing_list = models.ForeignKey(
        "audiences.MailingList",
        verbose_name=_("mailing list"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "Offer this list on the form: the reader ticks a box (with the list's consent "
            "text) to join it; the list's double opt-in applies. Needs an email field."
        ),
    )
    thank_you_text = RichTextField(
        _("thank-you message"),
        blank=True,
        features=["bold", "italic", "link"],
        help_text=_("Shown after a reader sends the form."),
    )
    thank_you_page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("thank-you page"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Send the reader to this page instead of showing the message."),
    )

    content_panels = AbstractForm.content_panels + [
        FieldPanel("language"),
        FieldPanel("intro"),
        InlinePanel("form_fields", label=_("Form fields")),
        FieldPanel("submit_label"),
        FieldPanel("mailing_list"),
        MultiFieldPanel(
            [FieldPanel("thank_you_text"), FieldPanel("thank_you_page")],
            heading=_("After sending"),
        ),
        EmbedCodePanel(heading=_("Embed on another site")),
    ]
    promote_panels = SeoFieldsMixin.seo_panels
    parent_page_types = ["content.HomePage"]
    subpage_types = []
    template = "leads/landing_page.html"
    landing_page_template = "leads/landing_page_thanks.html"

    class Meta:
        verbose_name = _("landing page")
        verbose_name_plural = _("landing pages")

    def get_plain_text(self) -> str:
        return strip_tags(self.intro or "").strip()

    def get_data_fields(self):
        return [
            *super().get_data_fields(),
            (SUBSCRIBER_KEY, _("Subscriber")),
            (SUBSCRIBE_KEY, _("Asked to join the list")),
        ]

    def get_submission_class(self):
        return LeadSubmission

    def get_submissions(self):
        return super().get_submissions().select_related("subscriber")

    def get_submissions_list_view_class(self):
        # Imported here as Wagtail does (its views load the admin); exports.py imports
        # nothing of this app, so this is no cycle.
        from .exports import LeadSubmissionsListView

        return LeadSubmissionsListView

    # Reading a post (limits, errors, the embedded variant) is views.serve_landing_page,
    # which wagtail_hooks.py answers every request for this page with (on_serve_page).


class LeadSubmission(AbstractFormSubmission):
    """One reader's answers (form_data, keyed by the fields' clean names), the subscriber
    they created or matched, and whether they asked to join the page's list."""

    subscriber = models.ForeignKey(
        "audiences.Subscriber",
        verbose_name=_("subscriber"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_submissions",
    )
    subscribe_requested = models.BooleanField(_("asked to subscribe"), default=False)
    language = models.CharField(_("language"), max_length=10, blank=True)
    embedded = models.BooleanField(_("sent from an embedded form"), default=False)

    def get_data(self):
        return {
            **super().get_data(),
            SUBSCRIBER_KEY: self.subscriber.email if self.subscriber_id else "",
            SUBSCRIBE_KEY: gettext("Yes") if self.subscribe_requested else "",
        }

    class Meta(AbstractFormSubmission.Meta):
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")
        indexes = [models.Index(fields=["page", "submit_time"], name="leads_page_time")]
