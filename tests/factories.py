"""factory_boy factories and page fixtures shared by every test package."""

import datetime

import factory
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from wagtail.models import Page, Site

from campaigns.models import Campaign, Publication
from channels.models import ChannelAccount
from content.models import (
    BlogIndexPage,
    BlogPostPage,
    EmailIssueIndexPage,
    EmailIssuePage,
    HomePage,
    SoftArticlePage,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-123456")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or []:
            self.groups.add(Group.objects.get(name=name))


class ChannelAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelAccount

    kind = "blog/wagtail_site"
    name = factory.Sequence(lambda n: f"Account {n}")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    start_date = factory.LazyFunction(lambda: timezone.localdate())
    end_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))
    owner = factory.SubFactory(UserFactory)


class PublicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Publication

    campaign = factory.SubFactory(CampaignFactory)
    channel_account = factory.SubFactory(ChannelAccountFactory)
    publish_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(hours=1))


def add_child(parent: Page, page: Page, publish: bool = True) -> Page:
    """Add `page` under `parent`, saving a revision and publishing it if asked."""
    page.live = publish
    parent.add_child(instance=page)
    revision = page.save_revision()
    if publish:
        revision.publish()
    page.refresh_from_db()
    return page


@pytest.fixture
def home_page(db) -> HomePage:
    """A HomePage as the default site's root (replacing Wagtail's welcome page)."""
    root = Page.get_first_root_node()
    home = HomePage(title="Home", slug="hub-home")
    root.add_child(instance=home)
    home.save_revision().publish()
    Site.objects.update_or_create(
        is_default_site=True,
        defaults={"hostname": "testserver", "port": 80, "root_page": home, "site_name": "Hub"},
    )
    return home


@pytest.fixture
def site(home_page) -> Site:
    return Site.objects.get(is_default_site=True)


def make_blog(home: HomePage, **kwargs) -> BlogIndexPage:
    return add_child(
        home,
        BlogIndexPage(title=kwargs.pop("title", "Blog"), slug=kwargs.pop("slug", "blog"), **kwargs),
    )


def make_post(blog: BlogIndexPage, publish: bool = True, **kwargs) -> BlogPostPage:
    defaults = {
        "title": "Spring sale guide",
        "slug": None,
        "excerpt": "How to plan a spring sale.",
        "body": [
            (
                "paragraph",
                '<p>Plan your spring sale early. <a href="https://shop.example.com/spring">Shop</a></p>',
            )
        ],
    }
    defaults.update(kwargs)
    if not defaults["slug"]:
        from django.utils.text import slugify

        defaults["slug"] = slugify(defaults["title"]) or "post"
    return add_child(blog, BlogPostPage(**defaults), publish=publish)


def make_soft_article(blog: BlogIndexPage, publish: bool = True, **kwargs) -> SoftArticlePage:
    defaults = {
        "title": "Our partner's new blender",
        "slug": "partner-blender",
        "sponsor": "Acme Kitchens",
        "disclosure_label": "Sponsored",
        "body": [
            ("paragraph", '<p>It blends. <a href="https://acme.example.com/blender">Buy</a></p>')
        ],
    }
    defaults.update(kwargs)
    return add_child(blog, SoftArticlePage(**defaults), publish=publish)


def make_email_issue(home: HomePage, publish: bool = True, **kwargs) -> EmailIssuePage:
    index = EmailIssueIndexPage.objects.child_of(home).first() or add_child(
        home, EmailIssueIndexPage(title="Newsletter", slug="newsletter")
    )
    defaults = {
        "title": "November news",
        "slug": "november-news",
        "subject": "November news",
        "preheader": "What happened this month",
        "body": [
            ("paragraph", '<p>Hello {{ name }}. <a href="https://example.com/news">Read</a></p>')
        ],
    }
    defaults.update(kwargs)
    return add_child(index, EmailIssuePage(**defaults), publish=publish)
