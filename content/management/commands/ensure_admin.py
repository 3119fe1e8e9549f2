import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

# Written by the demo loader (campaigns/demo.py) as "role username password" lines;
# read as text, so content (the bottom layer) imports nothing from the apps above.
DEMO_LOGINS_FILE = "demo-logins.txt"


class Command(BaseCommand):
    help = "Create the admin superuser once (random password kept in var/) and print the login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        password_file = settings.VAR_DIR / "admin-password.txt"
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username, f"{username}@example.com", password)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        elif password_file.exists():
            password = password_file.read_text().strip()
        else:
            password = "(unchanged; set it with `manage.py changepassword admin`)"
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Admin: {settings.WAGTAILADMIN_BASE_URL}/admin/\n"
                f"  Username: {username}\n  Password: {password}\n"
            )
        )
        self._print_demo_logins()

    def _print_demo_logins(self):
        """One login per role, if the demo made them (only the users that still exist)."""
        path = settings.VAR_DIR / DEMO_LOGINS_FILE
        if not path.exists():
            return
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                rows.append(parts)
        existing = set(
            get_user_model()
            .objects.filter(username__in=[u for _r, u, _p in rows], is_active=True)
            .values_list("username", flat=True)
        )
        rows = [row for row in rows if row[1] in existing]
        if not rows:
            return
        lines = [_("  Demo logins, one per role (also in %(path)s):") % {"path": path}]
        lines += [f"    {role:<11} {user:<11} {password}" for role, user, password in rows]
        self.stdout.write(self.style.SUCCESS("\n".join(lines) + "\n"))
