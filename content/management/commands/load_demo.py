from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import import_string

# Each app adds its loader here; each loader is idempotent and returns a dict of counts.
DEMO_LOADERS = [
    "content.demo.load_content",
    # People, the team zone, the mailing list and its segment; then the accounts,
    # campaigns and e-zine that use them.
    "campaigns.demo.load_campaigns_demo",
    "channels.demo.load_channels_demo",
    # Last: it fills the dashboards for whatever campaigns the loaders above made.
    "analytics.demo.load_analytics_demo",
]


class Command(BaseCommand):
    help = "Load demo content (idempotent: running it again creates nothing new)."

    def handle(self, *args, **options):
        for path in DEMO_LOADERS:
            with transaction.atomic():
                counts = import_string(path)(stdout=self.stdout)
            summary = ", ".join(f"{v} {k}" for k, v in counts.items()) or "nothing"
            self.stdout.write(f"{path}: created {summary}")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
