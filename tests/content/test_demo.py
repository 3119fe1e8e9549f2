"""The demo content behind `manage.py load_demo`: the site it builds, and idempotence."""

from itertools import pairwise

import pytest
from django.utils import timezone
from wagtail.models import Site

from content.demo import load_content
from content.models import (
    BlogIndexPage,
    BlogPostPage,
    EmailIssueIndexPage,
    EmailIssuePage,
    EZineIssuePage,
    EZinePage,
    HomePage,
    SoftArticlePage,
)

pytestmark = pytest.mark.django_db


def test_demo_builds_the_site_once(client):
    assert load_content() == {"pages": 18}
    # Found by slug on a second run: nothing new, nothing duplicated.
    assert load_content() == {"pages": 0}

    home = Site.objects.get(is_default_site=True).root_page.specific
    assert isinstance(home, HomePage)
    sections = {p.slug: type(p.specific) for p in home.get_children()}
    assert sections == {
        "blog": BlogIndexPage,
        "newsletter": EmailIssueIndexPage,
        "growth-notes": EZinePage,
        "marketing-weekly-zh": EZinePage,
    }
    blog = home.get_children().get(slug="blog")
    assert [(p.slug, type(p.specific)) for p in blog.get_children()] == [
        ("spring-sale-checklist", BlogPostPage),
        ("email-subject-lines-that-work", BlogPostPage),
        ("forum-marketing-without-spam", BlogPostPage),
        ("double-eleven-review", BlogPostPage),
        ("seo-for-baidu", BlogPostPage),
        ("acme-analytics-review", SoftArticlePage),
        ("hualu-tea-feature", SoftArticlePage),
    ]
    post = BlogPostPage.objects.get(slug="double-eleven-review")
    assert (post.author_name, post.language, post.live) == ("王小明", "zh-hans", True)
    issues = EmailIssuePage.objects.order_by("path")
    assert [(i.slug, i.subject, i.language) for i in issues] == [
        ("november-2026", "Your November marketing playbook", "en"),
        ("2026-11-zh", "十一月营销手册", "zh-hans"),
    ]
    # E-zine issues a week apart, the latest dated today.
    growth = EZineIssuePage.objects.child_of(home.get_children().get(slug="growth-notes"))
    dates = sorted(growth.values_list("issue_date", flat=True))
    assert [(later - earlier).days for earlier, later in pairwise(dates)] == [7, 7]
    assert dates[-1] == timezone.localdate()

    response = client.get("/blog/spring-sale-checklist/")
    assert response.status_code == 200
    assert "The spring sale checklist" in response.content.decode()
