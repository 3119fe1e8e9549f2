"""Delivery's keys without database constraints, and no separate publication index
(issue 19): freezing ten million recipients spent two thirds of its time in the
per-row foreign key checks. No data changes; cascades stay in the ORM."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audiences', '0001_initial'),
        ('campaigns', '0004_alter_campaign_options_alter_notification_options_and_more'),
        ('email_channel', '0004_seen_webhook_token'),
    ]

    operations = [
        migrations.AlterField(
            model_name='delivery',
            name='publication',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='campaigns.publication'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='subscriber',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='audiences.subscriber'),
        ),
    ]
