"""StreamField blocks for hub pages and email issues.

Rich text is limited to Wagtail's editor features, which already whitelist on paste.
`SanitisedHTMLBlock` is the one way to bring raw HTML from outside; it is cleaned by nh3
when saved and again when rendered, so old rows saved before a rule change are safe too.
"""

from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.embeds.blocks import EmbedBlock
from wagtail.images.blocks import ImageChooserBlock

from .sanitize import sanitize_html


class SanitisedHTMLBlock(blocks.RawHTMLBlock):
    """Raw HTML pasted or imported from outside, allow-listed by nh3."""

    def get_prep_value(self, value):
        return sanitize_html(str(value or ""))

    def render_basic(self, value, context=None):
        return mark_safe(sanitize_html(str(value or "")))  # noqa: S308 - sanitised above

    class Meta:
        icon = "code"
        label = _("HTML from outside (sanitised)")


class CaptionedImageBlock(blocks.StructBlock):
    image = ImageChooserBlock(label=_("Image"))
    alt_text = blocks.CharBlock(
        label=_("Alternative text"),
        max_length=250,
        help_text=_("Describe the image for screen readers and search engines."),
    )
    caption = blocks.CharBlock(label=_("Caption"), required=False, max_length=250)

    class Meta:
        icon = "image"
        label = _("Image")
        template = "content/blocks/image.html"


class QuoteBlock(blocks.StructBlock):
    text = blocks.TextBlock(label=_("Quote"))
    attribution = blocks.CharBlock(label=_("Attribution"), required=False, max_length=200)

    class Meta:
        icon = "openquote"
        label = _("Quote")
        template = "content/blocks/quote.html"


class CallToActionBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("Button text"), max_length=80)
    url = blocks.URLBlock(label=_("Link"))

    class Meta:
        icon = "link"
        label = _("Call to action")
        template = "content/blocks/cta.html"


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("Heading"), max_length=200)
    level = blocks.ChoiceBlock(
        label=_("Level"),
        choices=[("h2", "H2"), ("h3", "H3"), ("h4", "H4")],
        default="h2",
    )

    def render_basic(self, value, context=None):
        return format_html("<{0}>{1}</{0}>", value["level"], value["text"])

    class Meta:
        icon = "title"
        label = _("Heading")


RICH_TEXT_FEATURES = ["bold", "italic", "link", "ol", "ul", "h3", "h4", "blockquote", "code"]


class ArticleStreamBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(label=_("Paragraph"), features=RICH_TEXT_FEATURES)
    image = CaptionedImageBlock()
    quote = QuoteBlock()
    embed = EmbedBlock(label=_("Embed (video, post)"), icon="media")
    call_to_action = CallToActionBlock()
    html = SanitisedHTMLBlock()


class EmailButtonBlock(CallToActionBlock):
    class Meta:
        icon = "link"
        label = _("Button")
        template = "content/email_blocks/button.html"


class EmailImageBlock(CaptionedImageBlock):
    class Meta:
        icon = "image"
        label = _("Image")
        template = "content/email_blocks/image.html"


class EmailStreamBlock(blocks.StreamBlock):
    """Blocks that survive email clients: no embeds, no scripts, table-friendly markup."""

    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        label=_("Paragraph"), features=["bold", "italic", "link", "ol", "ul"]
    )
    image = EmailImageBlock()
    button = EmailButtonBlock()
    divider = blocks.StaticBlock(
        label=_("Divider"),
        admin_text=_("A horizontal line."),
        template="content/email_blocks/divider.html",
    )
    html = SanitisedHTMLBlock()
