"""Roles: groups exist after migrate, carry the right permissions, and the admin enforces
them. Content goes through moderation before it is published."""

import pytest
from django.contrib.auth.models import Group
from wagtail.models import Workflow

from content.roles import permission_codes_for
from tests.factories import UserFactory, make_blog, make_post

pytestmark = pytest.mark.django_db


def test_role_groups_exist_with_admin_access():
    for name in ["Editors", "Moderators", "Marketers", "Leadership"]:
        group = Group.objects.get(name=name)
        codes = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        assert "wagtailadmin.access_admin" in codes, name


def test_marketers_manage_campaigns_but_cannot_approve_them():
    marketer = UserFactory(groups=["Marketers"])
    assert marketer.has_perm("campaigns.add_campaign")
    assert marketer.has_perm("channels.change_channelaccount")
    assert not marketer.has_perm("campaigns.approve_campaign")


def test_leadership_is_read_only():
    leader = UserFactory(groups=["Leadership"])
    assert leader.has_perm("campaigns.view_campaign")
    assert not leader.has_perm("campaigns.change_campaign")
    assert not leader.has_perm("campaigns.add_publication")
    assert not leader.has_perm("channels.view_channelaccount")


def test_permission_rules_exclude_after_include():
    available = ["campaigns.add_campaign", "campaigns.approve_campaign", "content.view_x"]
    assert permission_codes_for("Marketers", available) == {"campaigns.add_campaign"}


def test_leadership_cannot_edit_content_in_admin(client, home_page):
    post = make_post(make_blog(home_page), title="Guarded")
    leader = UserFactory(groups=["Leadership"])
    client.force_login(leader)
    assert client.get("/admin/").status_code == 200
    edit = client.get(f"/admin/pages/{post.pk}/edit/")
    assert edit.status_code in (302, 403)
    response = client.post(f"/admin/pages/{post.pk}/edit/", {"title": "Hacked", "slug": post.slug})
    assert response.status_code in (302, 403)
    post.refresh_from_db()
    assert post.title == "Guarded"


def test_editor_can_edit_and_submit_but_not_publish(client, home_page):
    post = make_post(make_blog(home_page), title="Draft by editor")
    editor = UserFactory(groups=["Editors"])
    perms = post.permissions_for_user(editor)
    assert perms.can_edit()
    assert not perms.can_publish()
    workflow = post.get_workflow()
    assert isinstance(workflow, Workflow)  # Wagtail's default moderation workflow applies
    workflow.start(post, editor)
    post.refresh_from_db()
    assert post.workflow_in_progress
    moderator = UserFactory(groups=["Moderators"])
    assert post.permissions_for_user(moderator).can_publish()
