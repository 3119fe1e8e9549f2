import pytest

from campaigns.audiences.models import Subscriber
from tests.analytics.conftest import email_links, email_publication  # noqa: F401
from tests.campaigns.leads.conftest import landing, news  # noqa: F401
from tests.factories import UserFactory


@pytest.fixture
def marketer(db):
    return UserFactory(username="mia", groups=["Marketers"])


@pytest.fixture
def leader(db):
    return UserFactory(username="lee", groups=["Leadership"])


@pytest.fixture
def editor(db):
    return UserFactory(username="eddie", groups=["Editors"])


@pytest.fixture
def wang(db):
    return Subscriber.objects.create(
        email="wang@example.cn",
        name="王芳",
        attributes={"phone": "+86 138-0013-8000", "company": "上海星光贸易"},
    )
