"""The roles of the tool as Django groups, and the model permissions each one holds.

Groups are created by a data migration (content/migrations/0002_roles.py). Their model
permissions are synced after every `migrate`, because permissions of apps that are added
later only exist once their migrations ran. Wagtail's own Editors and Moderators groups
(created by Wagtail) keep their page permissions: Editors write and submit, Moderators
approve in the default moderation workflow, whose step is our campaign slot approval
task (content.moderation; installed by use_slot_approval).

Rules are `app_label.codename` patterns (fnmatch); a leading "-" removes matches.
"""

from fnmatch import fnmatchcase

EDITORS = "Editors"
MODERATORS = "Moderators"
MARKETERS = "Marketers"
LEADERSHIP = "Leadership"
# Customer service leads: answer feedback cases and hear of overdue ones (the default
# FEEDBACK_ESCALATION_GROUP).
SERVICE_MANAGERS = "Service managers"
# Erasing a person's data is destructive and cannot be undone: a separate group, given
# by hand to whoever answers for data protection (or left to superusers).
DATA_PROTECTION = "Data protection"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    EDITORS: [
        "wagtailadmin.access_admin",
        "content.view_*",
    ],
    MARKETERS: [
        "wagtailadmin.access_admin",
        "campaigns.*",
        "audiences.*",
        "people.*",
        "channels.*",
        "email_channel.*",
        "ezine_channel.*",
        "analytics.*",
        "surveys.view_*",
        "ops.view_operations",
        "feedback.*",
        # Approving a campaign is a separate, deliberate grant (see README, Roles).
        "-campaigns.approve_campaign",
        # A person's copy of their data, yes; erasing it and the log of requests: Data
        # protection (and Leadership reads the log).
        "people.export_personal_data",
        "-people.erase_personal_data",
        "-people.view_datarightsrequest",
    ],
    SERVICE_MANAGERS: [
        "wagtailadmin.access_admin",
        "feedback.*",
        "audiences.view_subscriber",
    ],
    LEADERSHIP: [
        "wagtailadmin.access_admin",
        "campaigns.view_*",
        "analytics.view_*",
        # People's records and the log of data requests, read-only.
        "people.view_*",
        "surveys.view_*",
    ],
    DATA_PROTECTION: [
        "wagtailadmin.access_admin",
        "audiences.view_subscriber",
        "audiences.change_subscriber",
        "people.*",
    ],
}


def permission_codes_for(role: str, available: list[str]) -> set[str]:
    """Which of `available` ("app.codename") the rules of `role` grant."""
    granted: set[str] = set()
    for rule in ROLE_PERMISSIONS.get(role, []):
        if rule.startswith("-"):
            granted -= {code for code in granted if fnmatchcase(code, rule[1:])}
        else:
            granted |= {code for code in available if fnmatchcase(code, rule)}
    return granted


def sync_role_permissions(group_model=None, permission_model=None) -> None:
    """Give each role group exactly the permissions its rules grant (idempotent).
    Permissions added by hand to a group are kept; only missing ones are added."""
    from django.contrib.auth.models import Group, Permission

    Group = group_model or Group
    Permission = permission_model or Permission
    perms = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
    }
    for role in ROLE_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = permission_codes_for(role, list(perms))
        group.permissions.add(*(perms[code] for code in wanted))


def sync_roles_after_migrate(sender, **kwargs):
    """post_migrate handler. Runs once, for our first app, after *all* migrations ran;
    creates every app's permissions first because auth's own handler may not have run
    for later apps yet."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=kwargs.get("using", "default"))
    sync_role_permissions()


SLOT_APPROVAL_TASK_NAME = "Moderators approval (campaign slots)"


def use_slot_approval(apps=None) -> None:
    """Make the Moderators' step of every workflow the campaign slot approval task, so
    approving content for a campaign does not put it live before its slot (idempotent).

    Wagtail's initial data gives the root page a workflow whose one task is a group
    approval by Moderators ("Approve and Publish"); that step is swapped for a
    SlotApprovalTask of the same group. Runs in a data migration (`apps` given, so
    historical models) and when the demo loads. Task states already running on the
    old task keep it."""
    if apps is None:
        from django.apps import apps
    Group = apps.get_model("auth", "Group")
    ContentType = apps.get_model("contenttypes", "ContentType")
    GroupApprovalTask = apps.get_model("wagtailcore", "GroupApprovalTask")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    SlotApprovalTask = apps.get_model("content", "SlotApprovalTask")

    moderators = Group.objects.filter(name=MODERATORS).first()
    if moderators is None:
        return
    task = SlotApprovalTask.objects.filter(groups=moderators, active=True).first()
    if task is None:
        # Historical models skip Task.__init__, which fills content_type itself.
        content_type, _ = ContentType.objects.get_or_create(
            app_label="content", model="slotapprovaltask"
        )
        task = SlotApprovalTask.objects.create(
            name=SLOT_APPROVAL_TASK_NAME, content_type=content_type, active=True
        )
        task.groups.add(moderators)
    moderator_tasks = GroupApprovalTask.objects.filter(groups=moderators).values("pk")
    for step in WorkflowTask.objects.filter(task_id__in=moderator_tasks):
        if WorkflowTask.objects.filter(workflow_id=step.workflow_id, task_id=task.pk).exists():
            step.delete()
        else:
            step.task_id = task.pk
            step.save(update_fields=["task"])
