"""Manual placement: for sites without an API (Q&A sites, Zhihu, WeChat articles, paid
ads). "Publishing" hands the adapted copy and its tracked links to the assigned
marketer as a task; they post it by hand and report the public URL."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from channels.base import ChannelAdapter, PublishResult, Rendered
from channels.render import render_markdown

from . import placement


class ManualPlacementAdapter(ChannelAdapter):
    kind = "manual/placement"
    label = gettext_lazy("Manual placement")

    @classmethod
    def settings_fields(cls):
        return {
            "site_name": forms.CharField(
                label=gettext_lazy("Where"),
                max_length=200,
                help_text=gettext_lazy("e.g. Zhihu, WeChat, Quora"),
            ),
            "expected_domain": forms.CharField(
                label=gettext_lazy("Expected domain of the public URL (optional)"),
                required=False,
                max_length=200,
                help_text=gettext_lazy("e.g. zhihu.com: a done task's URL must be on it."),
            ),
            "instructions": forms.CharField(
                label=gettext_lazy("Instructions for the marketer"),
                required=False,
                widget=forms.Textarea,
            ),
            "overdue_after_hours": forms.IntegerField(
                label=gettext_lazy("Overdue after (hours)"), min_value=1, initial=24
            ),
        }

    @classmethod
    def secret_fields(cls):
        return {}

    def render(self, publication) -> Rendered:
        return render_markdown(publication.page, publication)

    def publish(self, publication, rendered: Rendered) -> PublishResult:
        task = placement.create_placement_task(publication, rendered)
        return PublishResult(external_id=f"manual-task-{task.pk}", url=task.public_url)

    def find_existing(self, publication) -> PublishResult | None:
        task = placement.task_for_publication(publication)
        if task is None:
            return None
        return PublishResult(external_id=f"manual-task-{task.pk}", url=task.public_url)

    def validate_account(self, account) -> None:
        return None  # nothing remote to check
