"""The content hub: Wagtail pages editors write and campaigns publish.

Every content page carries the same SEO fields (SeoFieldsMixin). Page types and where
they may live:

    HomePage
      BlogIndexPage -> BlogPostPage, SoftArticlePage
      EmailIssueIndexPage -> EmailIssuePage
      EZinePage -> EZineIssuePage
      LandingPage (campaigns/leads: a form; content imports no other app)
"""

import json

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import strip_tags as django_strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from .blocks import ArticleStreamBlock, EmailStreamBlock
from .disclosure import DISCLOSURE_CHOICES, approved_disclosure
from .moderation import SlotApprovalTask  # noqa: F401 - registers the workflow task model
from .page_forms import ContentPageForm
from .seo import SeoAnalysisPanel


class SeoFieldsMixin(models.Model):
    """SEO fields shared by every content page. Wagtail's own `seo_title` and
    `search_description` (used as the meta description) complete the set."""

    # A Save pressed right after typing the title still gets a slug (see page_forms).
    base_form_class = ContentPageForm

    focus_keyphrase = models.CharField(
        _("focus keyphrase"),
        max_length=100,
        blank=True,
        help_text=_(
            "The search phrase this page should rank for, e.g. 'spring sale' or '春季促销'."
        ),
    )
    canonical_url = models.URLField(
        _("canonical URL"),
        blank=True,
        help_text=_("Leave empty to use this page's own URL."),
    )
    social_image = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("social image"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Shown when the page is shared (Open Graph, X/Twitter cards)."),
    )

    seo_panels = [
        MultiFieldPanel(
            [
                FieldPanel("slug"),
                FieldPanel("focus_keyphrase"),
                FieldPanel("seo_title"),
                FieldPanel("search_description"),
                FieldPanel("canonical_url"),
                FieldPanel("social_image"),
            ],
            heading=_("Search engines and sharing"),
        ),
        SeoAnalysisPanel(heading=_("SEO analysis")),
    ]

    class Meta:
        abstract = True

    def get_meta_title(self):
        return self.seo_title or self.title

    def get_meta_description(self):
        return self.search_description or Truncator(self.get_plain_text()).chars(155)

    def get_canonical_url(self, request=None):
        return self.canonical_url or self.get_full_url(request)

    def get_plain_text(self) -> str:
        """The page's readable text, for descriptions, SEO analysis and plain-text email."""
        return ""

    def get_json_ld(self, request=None) -> str:
        """schema.org Article markup, serialised for a <script type="application/ld+json">.
        `json.dumps` alone would let "</script>" through, so the dangerous characters are
        escaped as JSON unicode escapes."""
        data = {
            "@context": "https://schema.org",
            "@type": "Article",
            "headline": self.get_meta_title()[:110],
            "description": self.get_meta_description(),
            "mainEntityOfPage": self.get_canonical_url(request),
            "datePublished": self.first_published_at.isoformat()
            if self.first_published_at
            else None,
            "dateModified": self.last_published_at.isoformat() if self.last_published_at else None,
            "inLanguage": getattr(self, "language", None) or "en",
            "publisher": {
                "@type": "Organization",
                "name": self.get_site().site_name if self.get_site() else "",
            },
        }
        author = getattr(self, "author_name", "")
        if author:
            data["author"] = {"@type": "Person", "name": author}
        if self.social_image_id:
            rendition = self.social_image.get_rendition("fill-1200x630")
            data["image"] = rendition.full_url
        text = json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def stream_plain_text(stream) -> str:
    """Readable text of a StreamField value: headings, paragraphs, quotes, captions."""
    parts = []
    for block in stream:
        value = block.value
        if block.block_type == "heading":
            parts.append(value["text"])
        elif block.block_type == "paragraph":
            parts.append(django_strip_tags(value.source))
        elif block.block_type == "quote":
            parts.append(value["text"])
        elif block.block_type in ("image",) and value.get("caption"):
            parts.append(value["caption"])
        elif block.block_type == "html":
            parts.append(django_strip_tags(str(value)))
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


LANGUAGE_CHOICES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]


class HomePage(Page):
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = Page.content_panels + [FieldPanel("intro")]
    # leads.LandingPage (campaigns/leads) and the surveys (campaigns/surveys) by name
    # only: content imports no other app.
    subpage_types = [
        "content.BlogIndexPage",
        "content.EmailIssueIndexPage",
        "content.EZinePage",
        "leads.LandingPage",
        "surveys.NpsSurveyPage",
        "surveys.ServqualSurveyPage",
        "feedback.FeedbackPage",
    ]
    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    class Meta:
        verbose_name = _("home page")
        verbose_name_plural = _("home pages")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["latest_posts"] = (
            Page.objects.live()
            .public()
            .type(BlogPostPage, SoftArticlePage)
            .specific()
            .order_by("-first_published_at")[:6]
        )
        context["ezines"] = EZinePage.objects.live().public()
        return context


class BlogIndexPage(RoutablePageMixin, Page):
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["content.BlogPostPage", "content.SoftArticlePage"]
    parent_page_types = ["content.HomePage"]

    class Meta:
        verbose_name = _("blog")
        verbose_name_plural = _("blogs")

    def get_posts(self):
        return (
            Page.objects.live().public().child_of(self).specific().order_by("-first_published_at")
        )

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["posts"] = self.get_posts()
        return context

    @path("")
    def index(self, request):
        return self.render(request)

    @path("rss/", name="rss")
    def rss_feed(self, request):
        from .feeds import BlogRssFeed

        return BlogRssFeed(self)(request)

    @path("atom/", name="atom")
    def atom_feed(self, request):
        from .feeds import BlogAtomFeed

        return BlogAtomFeed(self)(request)


class ArticleBase(SeoFieldsMixin, Page):
    """Fields common to blog posts and soft articles."""

    language = models.CharField(
        _("language"), max_length=10, choices=LANGUAGE_CHOICES, default="en"
    )
    author_name = models.CharField(_("author"), max_length=120, blank=True)
    excerpt = models.TextField(
        _("excerpt"), blank=True, max_length=400, help_text=_("Shown in lists and feeds.")
    )
    cover_image = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("cover image"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = StreamField(ArticleStreamBlock(), verbose_name=_("body"), blank=True)

    search_fields = Page.search_fields + [
        index.SearchField("excerpt"),
        index.SearchField("body"),
        index.FilterField("language"),
    ]
    content_panels = Page.content_panels + [
        FieldPanel("language"),
        FieldPanel("author_name"),
        FieldPanel("excerpt"),
        FieldPanel("cover_image"),
        FieldPanel("body"),
    ]
    promote_panels = SeoFieldsMixin.seo_panels + [
        MultiFieldPanel([FieldPanel("show_in_menus")], heading=_("Menus")),
    ]
    parent_page_types = ["content.BlogIndexPage"]
    subpage_types = []

    class Meta:
        abstract = True

    def get_plain_text(self):
        return stream_plain_text(self.body)

    def get_excerpt(self):
        return self.excerpt or Truncator(self.get_plain_text()).chars(200)


class BlogPostPage(ArticleBase):
    class Meta:
        verbose_name = _("blog post")
        verbose_name_plural = _("blog posts")


class SoftArticlePage(ArticleBase):
    """An advertorial. The disclosure label is mandatory and every channel renders it
    (consumer-protection law in the EU, the FTC's guides and China's Advertising Law)."""

    sponsor = models.CharField(_("sponsor"), max_length=200)
    sponsor_url = models.URLField(_("sponsor website"), blank=True)
    disclosure_label = models.CharField(
        _("disclosure label"),
        max_length=40,
        choices=DISCLOSURE_CHOICES,
        default="Sponsored",
        help_text=_("Shown above the title on every channel. Required by law."),
    )

    content_panels = (
        ArticleBase.content_panels[:1]
        + [
            MultiFieldPanel(
                [FieldPanel("sponsor"), FieldPanel("sponsor_url"), FieldPanel("disclosure_label")],
                heading=_("Sponsorship"),
            ),
        ]
        + ArticleBase.content_panels[1:]
    )

    class Meta:
        verbose_name = _("soft article (advertorial)")
        verbose_name_plural = _("soft articles (advertorials)")

    def clean(self):
        super().clean()
        errors = {}
        if not (self.sponsor or "").strip():
            errors["sponsor"] = _("A soft article must name its sponsor.")
        if not (self.disclosure_label or "").strip():
            errors["disclosure_label"] = _("A soft article must carry a disclosure label.")
        elif approved_disclosure(self.disclosure_label) is None:
            errors["disclosure_label"] = _("Choose one of the approved disclosure labels.")
        if errors:
            raise ValidationError(errors)


class EmailIssueIndexPage(Page):
    subpage_types = ["content.EmailIssuePage"]
    parent_page_types = ["content.HomePage"]

    class Meta:
        verbose_name = _("email issues")
        verbose_name_plural = _("email issue indexes")


class EmailIssuePage(SeoFieldsMixin, Page):
    """One email newsletter issue; the email channel renders it for the inbox, and it
    also has a web version on the hub."""

    language = models.CharField(
        _("language"), max_length=10, choices=LANGUAGE_CHOICES, default="en"
    )
    subject = models.CharField(_("subject line"), max_length=150)
    preheader = models.CharField(
        _("preheader"),
        max_length=200,
        blank=True,
        help_text=_("The preview line most inboxes show next to the subject."),
    )
    body = StreamField(EmailStreamBlock(), verbose_name=_("body"), blank=True)

    content_panels = Page.content_panels + [
        FieldPanel("language"),
        FieldPanel("subject"),
        FieldPanel("preheader"),
        FieldPanel("body"),
    ]
    promote_panels = SeoFieldsMixin.seo_panels
    parent_page_types = ["content.EmailIssueIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("email issue")
        verbose_name_plural = _("email issues")

    def get_plain_text(self):
        return stream_plain_text(self.body)


class EZinePage(SeoFieldsMixin, Page):
    """An e-zine: a periodical whose issues are its children."""

    language = models.CharField(
        _("language"), max_length=10, choices=LANGUAGE_CHOICES, default="en"
    )
    description = RichTextField(_("description"), blank=True, features=["bold", "italic", "link"])

    content_panels = Page.content_panels + [FieldPanel("language"), FieldPanel("description")]
    promote_panels = SeoFieldsMixin.seo_panels
    parent_page_types = ["content.HomePage"]
    subpage_types = ["content.EZineIssuePage"]

    class Meta:
        verbose_name = _("e-zine")
        verbose_name_plural = _("e-zines")

    def get_issues(self):
        return EZineIssuePage.objects.live().public().child_of(self).order_by("-issue_number")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["issues"] = self.get_issues()
        return context

    def get_plain_text(self):
        return django_strip_tags(self.description)


class EZineIssuePage(SeoFieldsMixin, Page):
    issue_number = models.PositiveIntegerField(_("issue number"))
    issue_date = models.DateField(_("issue date"))
    editorial = RichTextField(
        _("editorial"), blank=True, features=["bold", "italic", "link", "ol", "ul"]
    )
    body = StreamField(ArticleStreamBlock(), verbose_name=_("body"), blank=True)

    content_panels = Page.content_panels + [
        FieldPanel("issue_number"),
        FieldPanel("issue_date"),
        FieldPanel("editorial"),
        FieldPanel("body"),
    ]
    promote_panels = SeoFieldsMixin.seo_panels
    parent_page_types = ["content.EZinePage"]
    subpage_types = []

    class Meta:
        verbose_name = _("e-zine issue")
        verbose_name_plural = _("e-zine issues")

    @property
    def language(self):
        parent = self.get_parent()
        return getattr(parent.specific, "language", "en") if parent else "en"

    def get_plain_text(self):
        return "\n\n".join(
            filter(None, [django_strip_tags(self.editorial), stream_plain_text(self.body)])
        )


CONTENT_PAGE_MODELS = (BlogPostPage, SoftArticlePage, EmailIssuePage, EZinePage, EZineIssuePage)
