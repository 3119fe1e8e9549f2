from django.core import mail
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils.module_loading import import_string

# Each app adds its loader here; each loader is idempotent and returns a dict of counts.
DEMO_LOADERS = [
    "content.demo.load_content",
    # People, the team zone, the mailing lists and the segment; then the accounts,
    # campaigns and e-zine that use them.
    "campaigns.demo.load_campaigns_demo",
    # A landing page with a form, offering the readers' list, and three leads.
    "campaigns.leads.demo.load_leads_demo",
    # A feedback page and three cases (one answered and resolved).
    "campaigns.feedback.demo.load_feedback_demo",
    # An NPS and a SERVQUAL survey with a few answers.
    "campaigns.surveys.demo.load_surveys_demo",
    "channels.demo.load_channels_demo",
    # Last: publishes and sends the campaigns whose schedule fills this week, then
    # reads, clicks and browses them over HTTP and rolls the events up.
    "analytics.demo.load_analytics_demo",
]
# The demo's people have example.com addresses: the mail the real code writes them
# while the demo loads (a task to place, a send finished, a campaign to approve) stays
# in memory instead of filling the console or going to a real server. Their admin
# notices are stored as usual.
KEEP_MAIL = "django.core.mail.backends.locmem.EmailBackend"


class Command(BaseCommand):
    help = "Load demo content (idempotent: running it again creates nothing new)."

    def handle(self, *args, **options):
        with override_settings(EMAIL_BACKEND=KEEP_MAIL):
            kept_before = len(getattr(mail, "outbox", []))
            for path in DEMO_LOADERS:
                with transaction.atomic():
                    counts = import_string(path)(stdout=self.stdout)
                summary = ", ".join(f"{v} {k}" for k, v in counts.items()) or "nothing"
                self.stdout.write(f"{path}: created {summary}")
            kept = len(getattr(mail, "outbox", [])) - kept_before
        if kept:
            self.stdout.write(f"{kept} notification emails to the demo's people kept, not sent.")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
