import uuid

import pytest

from campaigns.feedback.models import FeedbackPage
from tests.factories import add_child

URL = "/contact-us/"

VALID = {
    "category": "complaint",
    "name": "王芳",
    "email": "wang.fang@example.org",
    "phone": "+86 10 1234 5678",
    "subject": "Parcel arrived broken",
    "message": "The box was crushed.\nPlease help.",
    "order_reference": "SO-2026-0042",
}


@pytest.fixture(autouse=True)
def own_cache_keys(settings):
    """Public-form posts counted under this test's own cache prefix (CI's Redis is
    shared), as the audiences' and leads' tests do."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"t{uuid.uuid4().hex}"},
    }


def make_feedback_page(home, *, publish=True, **kwargs) -> FeedbackPage:
    page = FeedbackPage(
        title=kwargs.pop("title", "Contact us"),
        slug=kwargs.pop("slug", "contact-us"),
        intro=kwargs.pop("intro", "<p>Tell us what went wrong, or what we could do better.</p>"),
        **kwargs,
    )
    return add_child(home, page, publish=publish)


@pytest.fixture
def feedback_page(home_page):
    return make_feedback_page(home_page)


@pytest.fixture
def zh_feedback_page(home_page):
    return make_feedback_page(home_page, title="意见反馈", slug="fankui", language="zh-hans")
