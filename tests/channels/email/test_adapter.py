"""The email adapter's own checks (channels.email.adapter)."""

import pytest

from channels.base import PublishError
from channels.email.adapter import EmailAdapter


@pytest.mark.django_db
def test_no_postal_address_is_a_permanent_error(email_publication):
    account = email_publication.channel_account
    account.settings = {**account.settings, "postal_address": ""}
    account.save()
    with pytest.raises(PublishError) as exc:
        EmailAdapter(account).render(email_publication)
    assert exc.value.permanent
