"""Manual placement: for sites without an API (Q&A sites, Zhihu, WeChat articles, paid
ads). "Publishing" hands the adapted copy and its tracked links to the assigned
marketer as a task; they post it by hand and report the public URL."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from channels.base import AccountField, ChannelAdapter, FieldType, PublishResult, Rendered
from channels.render import render_markdown

from . import placement
from .placement import DEFAULT_OVERDUE_HOURS


class ManualPlacementAdapter(ChannelAdapter):
    kind = "manual/placement"
    label = gettext_lazy("Manual placement")

    account_settings = (
        AccountField(
            "site_name",
            gettext_lazy("Where"),
            help_text=gettext_lazy("e.g. Zhihu, WeChat, Quora"),
            required=True,
            max_length=200,
        ),
        AccountField(
            "expected_domain",
            gettext_lazy("Expected domain of the public URL"),
            help_text=gettext_lazy("Optional. e.g. zhihu.com: a done task's URL must be on it."),
            max_length=200,
        ),
        AccountField(
            "instructions",
            gettext_lazy("Instructions for the marketer"),
            FieldType.TEXTAREA,
            help_text=gettext_lazy("Optional. Shown on every task of this account."),
        ),
        AccountField(
            "overdue_after_hours",
            gettext_lazy("Overdue after (hours)"),
            FieldType.INTEGER,
            help_text=gettext_lazy("A task still open this long after it is due is overdue."),
            required=True,
            default=DEFAULT_OVERDUE_HOURS,
            min_value=1,
        ),
    )

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
