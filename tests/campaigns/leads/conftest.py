import uuid

import pytest

from campaigns.leads.models import LandingPage, LeadFormField
from tests.campaigns.audiences.factories import MailingListFactory
from tests.factories import add_child

# One field of every type the editor can choose (ours and Wagtail's).
EVERY_FIELD = [
    ("Email", "email", True, ""),
    ("Full name", "name", True, ""),
    ("Phone", "phone", False, ""),
    ("Company", "company", False, ""),
    ("Job title", "singleline", False, ""),
    ("Message", "multiline", False, ""),
    ("Team size", "number", False, ""),
    ("Website", "url", False, ""),
    ("Agree to be called", "checkbox", False, ""),
    ("Interests", "checkboxes", False, "Email\nForum\nBlog"),
    ("Country", "dropdown", False, "China\nGermany\nUSA"),
    ("Channels", "multiselect", False, "WeChat\nWeibo\nEmail"),
    ("Budget", "radio", False, "Small\nLarge"),
    ("Start date", "date", False, ""),
    ("Call at", "datetime", False, ""),
    ("Source", "hidden", False, ""),
]

VALID = {
    "email": "王芳@例子.中国",
    "full_name": "王芳",
    "phone": "+86 10 1234 5678",
    "company": "Acme 有限公司",
    "job_title": "Marketing lead",
    "message": "Please call me.\nThanks",
    "team_size": "12",
    "website": "https://example.org/",
    "agree_to_be_called": "on",
    "interests": ["Email", "Blog"],
    "country": "China",
    "channels": ["WeChat", "Email"],
    "budget": "Large",
    "start_date": "2026-12-24",
    "call_at": "2026-12-24 10:30",
    "source": "partner",
}


@pytest.fixture(autouse=True)
def own_cache_keys(settings):
    """Public-form posts counted under this test's own cache prefix (see the audiences'
    conftest: CI's Redis is shared)."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"t{uuid.uuid4().hex}"},
    }


@pytest.fixture
def news(db):
    return MailingListFactory(
        slug="news", name="News", consent_text="Yes, send me the monthly news.", double_opt_in=True
    )


def make_landing(home, *, fields=EVERY_FIELD, publish=True, **kwargs) -> LandingPage:
    page = LandingPage(
        title=kwargs.pop("title", "Spring demo"),
        slug=kwargs.pop("slug", "spring-demo"),
        intro=kwargs.pop("intro", "<p>Book a demo of our spring sale tools.</p>"),
        **kwargs,
    )
    for i, (label, kind, required, choices) in enumerate(fields):
        page.form_fields.add(
            LeadFormField(
                sort_order=i, label=label, field_type=kind, required=required, choices=choices
            )
        )
    return add_child(home, page, publish=publish)


@pytest.fixture
def landing(home_page, news):
    return make_landing(home_page, mailing_list=news)
