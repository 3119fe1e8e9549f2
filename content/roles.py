"""The roles of the tool as Django groups, and the model permissions each one holds.

Groups are created by a data migration (content/migrations/0002_roles.py). Their model
permissions are synced after every `migrate`, because permissions of apps that are added
later only exist once their migrations ran. Wagtail's own Editors and Moderators groups
(created by Wagtail) keep their page permissions: Editors write and submit, Moderators
approve in the default moderation workflow.

Rules are `app_label.codename` patterns (fnmatch); a leading "-" removes matches.
"""

from fnmatch import fnmatchcase

EDITORS = "Editors"
MODERATORS = "Moderators"
MARKETERS = "Marketers"
LEADERSHIP = "Leadership"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    EDITORS: [
        "wagtailadmin.access_admin",
        "content.view_*",
    ],
    MARKETERS: [
        "wagtailadmin.access_admin",
        "campaigns.*",
        "audiences.*",
        "channels.*",
        "email_channel.*",
        "ezine_channel.*",
        "analytics.*",
        "ops.view_operations",
        # Approving a campaign is a separate, deliberate grant (see README, Roles).
        "-campaigns.approve_campaign",
    ],
    LEADERSHIP: [
        "wagtailadmin.access_admin",
        "campaigns.view_*",
        "analytics.view_*",
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
