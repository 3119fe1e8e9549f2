"""The disclosure everywhere: a soft article rendered through every adapter opens every
field a reader sees with its label (the body, the excerpt where a channel shows one, a
Reddit link post's title, the email subject and plain-text part, the manual copy), in
English and in Chinese; MetaWeblog's inline cover image comes after it; a blog post that
nobody paid for carries no label anywhere."""

import re

import pytest
from bs4 import BeautifulSoup, Comment
from markdown_it import MarkdownIt

from channels.blog.metaweblog import key_marker
from channels.models import ManualPlacementTask
from tests.factories import make_post, make_soft_article

from .fakes import FakeMetaWeblog
from .helpers import make_image

pytestmark = pytest.mark.django_db

EMAIL = {"postal_address": "1 Example Street", "from_email": "news@hub.example.com"}
ENGLISH = {
    "language": "en",
    "label": "Sponsored",
    "title": "Our partner's new blender",
    "excerpt": "It blends everything.",
    "sponsor": "Acme Kitchens",
    "disclosure": "Sponsored · Paid for by Acme Kitchens",
    "prefixed_title": "[Sponsored] Our partner's new blender",
    "prefixed_excerpt": "[Sponsored] It blends everything.",
}
CHINESE = {
    "language": "zh-hans",
    "label": "广告",
    "title": "春季促销指南",
    "excerpt": "什么都能打。",
    "sponsor": "某厨具",
    "disclosure": "广告 · 由 某厨具 付费",
    "prefixed_title": "【广告】春季促销指南",
    "prefixed_excerpt": "【广告】什么都能打。",
}


def visible_html(html: str) -> str:
    """The text a reader sees: no comments (lookup markers), no head, no hidden preheader."""
    soup = BeautifulSoup(html, "html.parser")
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for hidden in soup.select("head, style, script, title, .preheader"):
        hidden.decompose()
    return re.sub(r"\s+", " ", soup.get_text(" ")).strip()


def visible_markdown(markdown: str) -> str:
    return visible_html(MarkdownIt().render(markdown))


def visible_plain(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def reader_fields(kind: str, rendered) -> dict[str, str]:
    """What a reader of `kind` sees of `rendered`, as visible text, per field."""
    html = {"html": visible_html(rendered.html)}
    if kind in ("blog/wordpress", "blog/metaweblog", "blog/wagtail_site"):
        return {**html, "excerpt": rendered.excerpt, "text": visible_plain(rendered.text)}
    if kind in ("forum/discourse", "forum/reddit self"):
        return {"markdown": visible_markdown(rendered.markdown)}
    if kind == "forum/reddit link":
        return {"title": rendered.title}
    if kind in ("email/smtp", "ezine/email"):
        return {**html, "subject": rendered.subject, "text": visible_plain(rendered.text)}
    assert kind == "manual/placement"
    # The copy the marketer posts by hand, in each form the task gives it; its text is
    # the Markdown with the escapes taken out.
    return {
        **html,
        "markdown": visible_markdown(rendered.markdown),
        "text": visible_markdown(rendered.text),
    }


ADAPTERS = {
    "blog/wordpress": ("blog/wordpress", {}),
    "blog/metaweblog": ("blog/metaweblog", {}),
    "blog/wagtail_site": ("blog/wagtail_site", {}),
    "forum/discourse": ("forum/discourse", {}),
    "forum/reddit self": ("forum/reddit", {"post_kind": "self"}),
    "forum/reddit link": ("forum/reddit", {"post_kind": "link"}),
    "email/smtp": ("email/smtp", EMAIL),
    "ezine/email": ("ezine/email", EMAIL),
    "manual/placement": ("manual/placement", {"site_name": "Zhihu"}),
}


def render_everywhere(make_publication, page) -> dict:
    """{adapter: Rendered} of `page` through every adapter."""
    rendered = {}
    for name, (kind, settings) in ADAPTERS.items():
        publication = make_publication(kind, settings=settings, page=page)
        rendered[name] = publication.channel_account.get_adapter().render(publication)
    return rendered


@pytest.mark.parametrize("lang", [ENGLISH, CHINESE], ids=["en", "zh"])
def test_every_adapter_opens_every_field_with_the_label(make_publication, blog, site, lang):
    page = make_soft_article(
        blog,
        slug=f"soft-{lang['language']}",
        title=lang["title"],
        excerpt=lang["excerpt"],
        sponsor=lang["sponsor"],
        disclosure_label=lang["label"],
        language=lang["language"],
    )
    everywhere = render_everywhere(make_publication, page)
    assert set(everywhere) == set(ADAPTERS)
    for name, rendered in everywhere.items():
        fields = reader_fields(name, rendered)
        for field, text in fields.items():
            assert text.lstrip("[【").startswith(lang["label"]), (name, field, text[:80])
        # Exactly how: bodies open with the whole disclosure, prefixes in the one form.
        for field in ("html", "markdown", "text"):
            if field in fields:
                assert fields[field].startswith(lang["disclosure"]), (name, field)
        if "excerpt" in fields:
            assert fields["excerpt"] == lang["prefixed_excerpt"], name
        if "title" in fields:
            assert fields["title"] == lang["prefixed_title"], name
        if "subject" in fields:
            assert fields["subject"] == lang["prefixed_title"], name
    # Where the body opens with the disclosure the title stays the editor's (WordPress
    # slugs and forum title checks use it).
    for name in ("blog/wordpress", "blog/metaweblog", "forum/discourse", "forum/reddit self"):
        assert everywhere[name].title == lang["title"], name


def test_a_blog_post_carries_no_label_anywhere(make_publication, blog, site):
    page = make_post(blog, title="Spring sale guide", excerpt="How to plan a spring sale.")
    for name, rendered in render_everywhere(make_publication, page).items():
        seen = " ".join([rendered.title, rendered.subject, *reader_fields(name, rendered).values()])
        for mark in ("Sponsored", "广告", "Paid for by", "【"):
            assert mark not in seen, (name, mark)
        assert rendered.title == "Spring sale guide", name
        if name.startswith("blog/"):
            assert rendered.excerpt == "How to plan a spring sale.", name
        if name in ("email/smtp", "ezine/email"):
            assert rendered.subject == "Spring sale guide", name


@pytest.mark.parametrize("sponsored", [True, False], ids=["soft article", "blog post"])
def test_metaweblog_puts_the_cover_image_after_the_disclosure(
    make_publication, blog, loopback, sponsored
):
    server = loopback(FakeMetaWeblog())
    make_page = make_soft_article if sponsored else make_post
    page = make_page(blog, title="Covered", slug="covered", cover_image=make_image())
    publication = make_publication(
        "blog/metaweblog",
        settings={"endpoint": server.url, "blog_id": "42", "username": "writer"},
        secrets={"password": "token-1"},
        page=page,
        excerpt_override="Short version.",
    )
    adapter = publication.channel_account.get_adapter()
    rendered = adapter.render(publication)
    adapter.publish(publication, rendered)
    (post,) = server.posts
    cover = r'<p><img src="https://img\.example\.com/[^"]+" alt="Covered"></p>'
    image = re.search(cover, post["description"])
    assert image, post["description"][:300]
    marker = f"<!-- {key_marker(publication)} -->\n"
    # Exactly what we rendered, with the cover right after the disclosure (or, without
    # one, opening the body after the invisible marker).
    disclosure = "<p><strong>Sponsored</strong> · Paid for by Acme Kitchens</p>\n"
    head = marker + (disclosure if sponsored else "")
    assert post["description"][: image.start()] == head
    assert head + post["description"][image.end() + 1 :] == rendered.html
    assert visible_html(post["description"]).startswith("Sponsored" if sponsored else "Plan your")
    assert post["mt_excerpt"] == ("[Sponsored] Short version." if sponsored else "Short version.")


def test_a_label_may_have_its_own_email_subject_prefix(make_publication, blog):
    """赞助内容 mails open with 【广告】 (China's rules for commercial email want 广告 or
    AD at the front of the subject); its titles and excerpts keep the label itself."""
    page = make_soft_article(
        blog, title="春季促销指南", excerpt="什么都能打。", disclosure_label="赞助内容",
        language="zh-hans",
    )  # fmt: skip
    email = make_publication("email/smtp", settings=EMAIL, page=page)
    rendered = email.channel_account.get_adapter().render(email)
    assert rendered.subject == "【广告】春季促销指南"
    assert visible_plain(rendered.text).startswith("赞助内容 · 由 Acme Kitchens 付费")
    wordpress = make_publication("blog/wordpress", page=page)
    assert wordpress.channel_account.get_adapter().render(wordpress).excerpt == (
        "【赞助内容】什么都能打。"
    )


def test_a_subject_or_excerpt_already_opening_with_the_label_is_not_labelled_twice(
    make_publication, blog
):
    page = make_soft_article(blog)
    email = make_publication(
        "email/smtp", settings=EMAIL, page=page, email_subject="[Sponsored] Blend it"
    )
    assert email.channel_account.get_adapter().render(email).subject == "[Sponsored] Blend it"
    wordpress = make_publication("blog/wordpress", page=page, excerpt_override="[Sponsored] Hi")
    assert wordpress.channel_account.get_adapter().render(wordpress).excerpt == "[Sponsored] Hi"


def test_the_manual_task_copy_opens_with_the_disclosure(
    make_publication, blog, django_capture_on_commit_callbacks
):
    page = make_soft_article(blog, disclosure_label="广告", language="zh-hans")
    publication = make_publication("manual/placement", settings={"site_name": "Zhihu"}, page=page)
    adapter = publication.channel_account.get_adapter()
    with django_capture_on_commit_callbacks(execute=True):
        adapter.publish(publication, adapter.render(publication))
    task = ManualPlacementTask.objects.get(publication=publication)
    disclosure = "广告 · 由 Acme Kitchens 付费"
    assert visible_html(task.body_html).startswith(disclosure)
    assert task.body_markdown.startswith("**广告** · 由 Acme Kitchens 付费\n")
    assert visible_markdown(task.body_text).startswith(disclosure)


def test_a_reddit_link_title_is_checked_with_its_label(make_publication, blog):
    """Reddit counts the label into the title's 300 characters: the check does too."""
    page = make_soft_article(blog)
    for kind, problem_expected in (("link", True), ("self", False)):
        publication = make_publication(
            "forum/reddit", settings={"post_kind": kind}, page=page, title_override="长" * 295
        )
        problems = publication.channel_account.get_adapter().check_publication(publication)
        too_long = [p for p in problems if "307" in p and "300" in p]
        assert bool(too_long) is problem_expected, (kind, problems)
