"""The webhook settings of an email account, as a marketer sets them in the account
form over HTTP: which provider's hook the account uses, the SES topic ARN it needs, the
Mailgun signing key; and the account's hooks following what was saved."""

import re

import pytest
from django.test import Client

from channels.models import ChannelAccount

pytestmark = pytest.mark.django_db

ADD_SMTP = "/admin/channels/add/?kind=email/smtp"
ARN = "arn:aws:sns:eu-west-1:123456789012:ses-feedback"


@pytest.fixture
def staff(client, marketer):
    client.force_login(marketer)
    return client


def smtp_post(**overrides):
    data = {
        "kind": "email/smtp",
        "name": "Newsletter",
        "is_active": "on",
        "rate_limit_per_minute": 30,
        "setting__host": "smtp.example.com",
        "setting__port": "587",
        "setting__security": "starttls",
        "setting__from_email": "news@example.com",
        "setting__postal_address": "1 Example Street",
        "setting__batch_size": "100",
        "setting__concurrency": "2",
        "setting__timeout": "30",
        "secret__password": "smtp-pw",
    }
    data.update(overrides)
    return data


def field_errors(html: str, name: str) -> str:
    for wrapper in html.split('class="w-field__wrapper')[1:]:
        if f'name="{name}"' in wrapper:
            errors = re.search(r'<div class="w-field__errors"[^>]*>(.*?)</div>', wrapper, re.S)
            return re.sub(r"<[^>]+>|\s+", " ", errors.group(1)).strip() if errors else ""
    raise AssertionError(f"no field {name} on the page")


def test_the_form_offers_the_webhook_choice_the_topic_arn_and_the_signing_key(staff):
    html = staff.get(ADD_SMTP).content.decode()
    assert re.search(r'<select name="setting__feedback_webhook"', html)
    assert '<option value="ses">' in html and '<option value="mailgun">' in html
    assert 'name="setting__sns_topic_arn"' in html
    assert 'type="password" name="secret__mailgun_signing_key"' in html
    assert "/hooks/email/" in html  # where the provider posts


def test_choosing_ses_without_a_topic_arn_is_refused_with_a_clear_error(staff):
    response = staff.post(ADD_SMTP, smtp_post(setting__feedback_webhook="ses"))
    assert response.status_code == 200
    error = field_errors(response.content.decode(), "setting__sns_topic_arn")
    assert "Required when" in error and "Amazon SES" in error
    assert not ChannelAccount.objects.exists()


def test_a_topic_arn_that_is_not_an_arn_is_refused(staff):
    response = staff.post(
        ADD_SMTP,
        smtp_post(setting__feedback_webhook="ses", setting__sns_topic_arn="my-topic"),
    )
    assert field_errors(response.content.decode(), "setting__sns_topic_arn")
    assert not ChannelAccount.objects.exists()


def test_choosing_mailgun_without_a_signing_key_is_refused(staff):
    response = staff.post(ADD_SMTP, smtp_post(setting__feedback_webhook="mailgun"))
    assert "Required when" in field_errors(response.content.decode(), "secret__mailgun_signing_key")
    assert not ChannelAccount.objects.exists()


def test_the_saved_topic_is_the_one_the_ses_hook_accepts(staff):
    response = staff.post(
        ADD_SMTP, smtp_post(setting__feedback_webhook="ses", setting__sns_topic_arn=ARN)
    )
    assert response.status_code == 302
    account = ChannelAccount.objects.get()
    assert account.settings["feedback_webhook"] == "ses"
    assert account.settings["sns_topic_arn"] == ARN
    # The hook now refuses another topic by its TopicArn alone (no signature needed to
    # see it is not ours), and the Mailgun hook refuses everything.
    foreign = '{"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:999999999999:x"}'
    r = Client().post(f"/hooks/email/{account.pk}/ses/", foreign, content_type="text/plain")
    assert r.status_code == 403
    r = Client().post(f"/hooks/email/{account.pk}/mailgun/", "{}", content_type="application/json")
    assert r.status_code == 406 and b"ses" in r.content


def test_a_stored_signing_key_satisfies_mailgun_when_the_form_leaves_it_empty(staff):
    staff.post(ADD_SMTP, smtp_post(secret__mailgun_signing_key="mg-key"))
    account = ChannelAccount.objects.get()
    response = staff.post(
        f"/admin/channels/{account.pk}/",
        smtp_post(setting__feedback_webhook="mailgun", secret__mailgun_signing_key=""),
    )
    assert response.status_code == 302, field_errors(
        response.content.decode(), "secret__mailgun_signing_key"
    )
    account.refresh_from_db()
    assert account.secrets["mailgun_signing_key"] == "mg-key"
    assert account.settings["feedback_webhook"] == "mailgun"
