"""Create the tool's role groups. Their model permissions are synced after every
migrate by content.roles.sync_roles_after_migrate (permissions of later apps do not
exist yet at this point)."""

from django.db import migrations

ROLE_GROUPS = ["Editors", "Marketers", "Leadership"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth.Group")
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    # Editors belongs to Wagtail's initial data; leave it alone.
    apps.get_model("auth.Group").objects.filter(name__in=["Marketers", "Leadership"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0001_initial"),
        ("wagtailcore", "0002_initial_data"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
