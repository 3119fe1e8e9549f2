"""The demo's landing page (`make run`): made once through the real services, with its
leads and the one opt-in pending confirmation."""

import pytest
from django.core import mail
from django.test import Client

from campaigns.audiences.models import Subscription
from campaigns.leads.demo import SLUG, load_leads_demo
from campaigns.leads.models import LandingPage, LeadSubmission
from content.seo.pages import analyse_page
from tests.campaigns.audiences.factories import MailingListFactory

pytestmark = pytest.mark.django_db


def test_the_demo_landing_page_is_made_once_with_its_leads(site):
    readers = MailingListFactory(slug="demo-readers", name="Blog readers")
    assert load_leads_demo() == {"landing pages": 1, "form submissions": 3}
    assert load_leads_demo() == {"landing pages": 0, "form submissions": 0}
    page = LandingPage.objects.get(slug=SLUG)
    assert page.live and page.mailing_list == readers
    assert LeadSubmission.objects.filter(page=page).count() == 3
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.PENDING
    assert subscription.subscriber.attributes["company"] == "上海优品贸易"
    assert len(mail.outbox) == 1
    response = Client().get(f"/{SLUG}/")
    assert response.status_code == 200
    assert "Book my demo" in response.content.decode()
    assert analyse_page(page).score >= 50
