"""Browser preview and test sends (channels.email.preview)."""

import pytest

from channels.email import services
from channels.email.adapter import EmailAdapter
from channels.email.models import Delivery


@pytest.mark.django_db
def test_test_send_and_preview(smtp_server, email_publication):
    _controller, handler = smtp_server
    adapter = EmailAdapter(email_publication.channel_account)
    rendered = adapter.render(email_publication)
    assert services.send_test_email(email_publication, rendered, ["me@example.org"]) == 1
    rcpts, msg = handler.parsed()[0]
    assert rcpts == ["me@example.org"]
    assert msg["Subject"].startswith("[Test]")
    assert Delivery.objects.count() == 0
    preview = services.preview_html(email_publication, rendered)
    assert "Hello Alex Example." in preview and "{{" not in preview


@pytest.mark.django_db
def test_test_send_counts_only_accepted_addresses(smtp_server, email_publication):
    _controller, handler = smtp_server
    handler.refuse["gone@example.org"] = "550 5.1.1 No such user"
    rendered = EmailAdapter(email_publication.channel_account).render(email_publication)
    addresses = ["me@example.org", "gone@example.org", "you@example.org"]
    assert services.send_test_email(email_publication, rendered, addresses) == 2
    assert sorted(handler.count_by_recipient()) == ["me@example.org", "you@example.org"]
