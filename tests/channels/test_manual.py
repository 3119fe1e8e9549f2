"""Manual placement: a task with the adapted copy and tracked links, notice and email,
done with a validated URL or skipped with a reason, overdue flagged."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import escape

from campaigns.models import Publication, PublicationEvent
from channels.manual import services
from channels.models import ManualPlacementTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def publication(make_publication):
    return make_publication(
        "manual/placement",
        settings={
            "site_name": "Zhihu",
            "expected_domain": "zhihu.com",
            "instructions": "Answer the top question.",
            "overdue_after_hours": 6,
        },  # fmt: skip
        soft=True,
        publish_at=timezone.now(),
    )


def _publish(publication, django_capture_on_commit_callbacks):
    adapter = publication.channel_account.get_adapter()
    with django_capture_on_commit_callbacks(execute=True):
        return adapter.publish(publication, adapter.render(publication))


def test_publish_creates_a_task_and_emails_the_assignee(
    publication, marketer, django_capture_on_commit_callbacks
):
    result = _publish(publication, django_capture_on_commit_callbacks)
    task = ManualPlacementTask.objects.get(publication=publication)
    assert result.external_id == f"manual-task-{task.pk}"
    assert task.assignee == marketer
    assert task.status == "open"
    assert task.body_markdown.startswith("**Sponsored**")
    assert task.links and all(
        link.startswith(settings.SITE_BASE_URL + "/t/") for link in task.links
    )
    assert task.overdue_at == task.due_at + datetime.timedelta(hours=6)
    (message,) = mail.outbox
    assert message.to == ["marketer@example.com"]
    assert "Zhihu" in message.subject
    assert task.links[0] in message.body and "Answer the top question." in message.body
    assert f"/admin/channels/tasks/{task.pk}/" in message.body


def test_publishing_again_reuses_the_task_and_sends_nothing_more(
    publication, django_capture_on_commit_callbacks
):
    _publish(publication, django_capture_on_commit_callbacks)
    _publish(publication, django_capture_on_commit_callbacks)
    assert ManualPlacementTask.objects.filter(publication=publication).count() == 1
    assert len(mail.outbox) == 1
    adapter = publication.channel_account.get_adapter()
    assert adapter.find_existing(publication).external_id.startswith("manual-task-")


def test_done_needs_a_valid_public_url_on_the_expected_domain(
    publication, marketer, django_capture_on_commit_callbacks
):
    _publish(publication, django_capture_on_commit_callbacks)
    task = publication.manual_task
    for bad in ["", "zhihu.com/question/1", "javascript:alert(1)", "https://evil.example.com/zhihu.com", "https://notzhihu.com/x"]:  # fmt: skip
        with pytest.raises(ValidationError):
            services.complete_task(task, bad, marketer)
    task.refresh_from_db()
    assert task.status == "open"
    services.complete_task(task, "https://www.zhihu.com/question/1/answer/2", marketer)
    task.refresh_from_db()
    assert task.status == "done" and task.completed_by == marketer
    assert (
        Publication.objects.get(pk=publication.pk).public_url
        == "https://www.zhihu.com/question/1/answer/2"
    )


def test_done_records_the_public_url_in_the_publication_audit_log(
    publication, marketer, django_capture_on_commit_callbacks
):
    _publish(publication, django_capture_on_commit_callbacks)
    # As the publish pipeline records it once the adapter created the task.
    Publication.objects.filter(pk=publication.pk).update(status=Publication.Status.PUBLISHED)
    url = "https://www.zhihu.com/question/1/answer/2"
    services.complete_task(publication.manual_task, url, marketer)
    publication.refresh_from_db()
    assert publication.public_url == url
    assert publication.status == Publication.Status.PUBLISHED  # the status is not touched
    event = PublicationEvent.objects.filter(publication=publication).last()
    assert event.actor == marketer and url in event.reason
    assert event.from_status == event.to_status == Publication.Status.PUBLISHED


def test_skip_needs_a_reason(publication, marketer, django_capture_on_commit_callbacks):
    _publish(publication, django_capture_on_commit_callbacks)
    task = publication.manual_task
    with pytest.raises(ValidationError):
        services.skip_task(task, "   ", marketer)
    services.skip_task(task, "The question was closed.", marketer)
    task.refresh_from_db()
    assert task.status == "skipped" and task.skip_reason == "The question was closed."
    with pytest.raises(ValidationError):
        services.complete_task(task, "https://www.zhihu.com/q/1", marketer)


def test_overdue_tasks_are_flagged_per_campaign(publication, django_capture_on_commit_callbacks):
    _publish(publication, django_capture_on_commit_callbacks)
    task = publication.manual_task
    assert not task.is_overdue
    assert list(services.overdue_tasks(publication.campaign)) == []
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=7)):
        task.refresh_from_db()
        assert task.is_overdue
        assert list(services.overdue_tasks(publication.campaign)) == [task]
        assert list(services.overdue_tasks(campaign=None)) == [task]


def test_admin_notice_and_task_page(
    client, publication, marketer, django_capture_on_commit_callbacks
):
    _publish(publication, django_capture_on_commit_callbacks)
    task = publication.manual_task
    client.force_login(marketer)
    home = client.get("/admin/")
    assert home.status_code == 200
    assert "Placements to post by hand" in home.content.decode()
    # The title is text in HTML: autoescaped (the apostrophe becomes &#x27;), which a
    # browser shows as the title itself.
    assert escape(task.title) in home.content.decode()

    page = client.get(f"/admin/channels/tasks/{task.pk}/")
    assert page.status_code == 200
    assert escape(task.title) in page.content.decode()
    assert task.links[0] in page.content.decode()

    bad = client.post(
        f"/admin/channels/tasks/{task.pk}/", {"action": "done", "public_url": "not a url"}
    )
    assert bad.status_code == 200 and "https://" in bad.content.decode()
    ok = client.post(
        f"/admin/channels/tasks/{task.pk}/",
        {"action": "done", "public_url": "https://zhuanlan.zhihu.com/p/1"},
    )
    assert ok.status_code == 302
    task.refresh_from_db()
    assert task.status == "done"


def test_task_pages_need_permission(client, publication, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    _publish(publication, django_capture_on_commit_callbacks)
    outsider = UserFactory(username="outsider")
    outsider.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(outsider)
    assert client.get(f"/admin/channels/tasks/{publication.manual_task.pk}/").status_code in (
        302,
        403,
    )
    assert client.post(
        f"/admin/channels/tasks/{publication.manual_task.pk}/", {"action": "skip", "reason": "x"}
    ).status_code in (302, 403)
    publication.manual_task.refresh_from_db()
    assert publication.manual_task.status == "open"
