"""Test-only middleware: logs the browser in when the URL carries the test's secret.
It is added to MIDDLEWARE by the browser test alone, never by any settings module."""

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.shortcuts import redirect


class BrowserTestLoginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        secret = getattr(settings, "BROWSER_TEST_LOGIN_SECRET", "")
        if secret and request.GET.get("test-login") == secret:
            user = get_user_model().objects.get(username=settings.BROWSER_TEST_LOGIN_USER)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(request.path)
        return self.get_response(request)
