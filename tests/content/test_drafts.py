"""Creating a page leaves exactly one page: the add form never autosaves (an autosave
racing the first Save made twin drafts; one from an abandoned form left an orphan), and
a Save pressed before the editor copied the title into the slug still creates it.
Through Wagtail's own add and edit views; the browser side is test_drafts_browser.py."""

import pytest
from django.urls import reverse
from wagtail.test.utils.form_data import nested_form_data, streamfield

from content.models import BlogPostPage
from tests.factories import UserFactory, make_blog

pytestmark = pytest.mark.django_db


@pytest.fixture
def blog(home_page):
    return make_blog(home_page)


@pytest.fixture
def editor_client(client):
    client.force_login(UserFactory(username="ed", groups=["Editors"]))
    return client


def add_url(blog):
    return reverse("wagtailadmin_pages:add", args=["content", "blogpostpage", blog.pk])


def form(title, slug=""):
    return nested_form_data(
        {"title": title, "slug": slug, "language": "en", "excerpt": "", "body": streamfield([])}
    )


def test_the_add_form_starts_no_autosave_but_the_edit_form_does(editor_client, blog):
    html = editor_client.get(add_url(blog)).content.decode()
    assert 'id="page-edit-form"' in html
    assert "data-w-autosave-interval-value" not in html

    editor_client.post(add_url(blog), form("Spring sale", "spring-sale"))
    page = BlogPostPage.objects.get(title="Spring sale")
    html = editor_client.get(reverse("wagtailadmin_pages:edit", args=[page.pk])).content.decode()
    assert "data-w-autosave-interval-value" in html


def test_an_autosave_request_on_the_add_view_creates_nothing(editor_client, blog):
    response = editor_client.post(
        add_url(blog), form("Autosaved", "autosaved"), HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error_message"]
    assert not BlogPostPage.objects.exists()


def test_saving_twice_from_the_edit_form_keeps_one_page(editor_client, blog):
    editor_client.post(add_url(blog), form("Once", "once"))
    [page] = BlogPostPage.objects.all()
    edit = reverse("wagtailadmin_pages:edit", args=[page.pk])
    # An autosave (JSON) and a Save of the edit form both land on that same page.
    editor_client.post(edit, form("Once more", "once"), HTTP_ACCEPT="application/json")
    editor_client.post(edit, form("Once again", "once"))
    [page] = BlogPostPage.objects.all()
    assert page.get_latest_revision().as_object().title == "Once again"


def test_a_save_with_an_empty_slug_takes_it_from_the_title(editor_client, blog):
    response = editor_client.post(add_url(blog), form("Flash sale 闪购"))
    assert response.status_code == 302
    [page] = BlogPostPage.objects.all()
    assert page.slug == "flash-sale-闪购"


def test_an_empty_slug_next_to_a_taken_one_is_refused_clearly(editor_client, blog):
    editor_client.post(add_url(blog), form("Twice", "twice"))
    response = editor_client.post(add_url(blog), form("Twice"))
    assert response.status_code == 200
    assert "The slug &#x27;twice&#x27; is already in use" in response.content.decode()
    assert BlogPostPage.objects.count() == 1
