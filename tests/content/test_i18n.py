"""English and Simplified Chinese: our catalogues are active, complete, and chosen per
user in the admin or site-wide by LANGUAGE_CODE."""

from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import translation
from wagtail.users.models import UserProfile

from tests.factories import UserFactory, make_blog, make_soft_article

ROOT = Path(__file__).resolve().parents[2]


def test_chinese_catalogue_is_active():
    with translation.override("zh-hans"):
        assert (
            translation.gettext("A soft article must name its sponsor.") == "软文必须注明赞助商。"
        )
        assert translation.gettext("Sponsored") == "赞助"
    with translation.override("en"):
        assert translation.gettext("Sponsored") == "Sponsored"


def test_every_catalogue_is_complete():
    """No shipped zh_Hans catalogue leaves a string untranslated or fuzzy."""
    from tests import polib_lite

    catalogues = [
        p for p in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po") if ".venv" not in p.parts
    ]
    assert catalogues, "no zh_Hans catalogues found"
    for path in catalogues:
        untranslated = polib_lite.untranslated(path)
        assert not untranslated, f"{path.relative_to(ROOT)}: {untranslated[:5]}"
        assert path.with_suffix(".mo").exists(), f"{path} is not compiled"


@pytest.mark.django_db
def test_admin_language_is_chosen_per_user(client):
    user = UserFactory(groups=["Marketers"])
    UserProfile.get_for_user(user).__class__.objects.filter(user=user).update(
        preferred_language="zh-hans"
    )
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert '<html lang="zh-hans"' in response.content.decode()

    other = UserFactory(groups=["Marketers"])
    client.force_login(other)
    assert '<html lang="en"' in client.get("/admin/").content.decode()


@pytest.mark.django_db
def test_site_language_follows_language_code(client, home_page):
    article = make_soft_article(make_blog(home_page))
    with override_settings(LANGUAGE_CODE="zh-hans"):
        html = client.get(article.url, HTTP_ACCEPT_LANGUAGE="").content.decode()
    assert "由 Acme Kitchens 付费" in html
    html = client.get(article.url).content.decode()
    assert "Paid for by Acme Kitchens" in html


@pytest.mark.django_db
def test_login_page_in_chinese(client):
    with override_settings(LANGUAGE_CODE="zh-hans", SOCIAL_AUTH_GOOGLE_OAUTH2_KEY="k"):
        html = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "或使用您的组织账号登录" in html
    assert "使用 Google 登录" in html


def test_no_chinese_model_name_gets_an_english_plural_s():
    """Without verbose_name_plural Django appends "s" to the translated name: the
    Audiences menu read "邮件列表s". Every model of ours that names itself names its
    plural too."""
    from django.apps import apps

    ours = ("content", "campaigns", "channels", "analytics", "config")
    with translation.override("zh-hans"):
        named_without_plural = [
            f"{model.__module__}.{model.__name__}"
            for model in apps.get_models()
            if model.__module__.split(".")[0] in ours
            and "verbose_name" in model._meta.original_attrs
            and "verbose_name_plural" not in model._meta.original_attrs
        ]
        appended = [
            str(model._meta.verbose_name_plural)
            for model in apps.get_models()
            if model.__module__.split(".")[0] in ours
            and str(model._meta.verbose_name_plural).endswith("s")
            and any("\u4e00" <= c <= "\u9fff" for c in str(model._meta.verbose_name_plural))
        ]
    assert named_without_plural == [] and appended == []
