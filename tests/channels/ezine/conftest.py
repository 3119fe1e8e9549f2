"""The loopback SMTP server and Celery switch from the email tests."""

from tests.channels.email.conftest import no_celery, smtp_server  # noqa: F401
