"""The default moderation workflow approves for the campaign slot (content.moderation)
instead of Wagtail's "Approve and Publish" group approval."""

from django.db import migrations


def forwards(apps, schema_editor):
    from content.roles import use_slot_approval

    use_slot_approval(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0003_slot_approval_task"),
        ("wagtailcore", "0048_add_default_workflows"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
