import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

# Written by the demo loader (campaigns/demo.py) as "role username password" lines;
# read as text, so content (the bottom layer) imports nothing from the apps above.
DEMO_LOGINS_FILE = "demo-logins.txt"


# Wagtail's account form (Account > Profile) requires a first and last name and an email:
# without them saving any account setting, the admin language included, fails.
ADMIN_NAMES = {"first_name": "Site", "last_name": "Admin"}


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
            user = User.objects.create_superuser(
                username, f"{username}@example.com", password, **ADMIN_NAMES
            )
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        elif password_file.exists():
            password = password_file.read_text().strip()
        else:
            password = _("(unchanged; set it with `manage.py changepassword %(username)s`)") % {
                "username": username
            }
        self._complete_profile(user)
        self.stdout.write(self.style.SUCCESS(self._banner(username, password)))
        self._print_demo_logins()

    def _complete_profile(self, user):
        """Fill a name or email left blank (an admin made before they were set), never
        overwrite one the person chose."""
        blanks = {f: v for f, v in ADMIN_NAMES.items() if not getattr(user, f)}
        if not user.email:
            blanks["email"] = f"{user.get_username()}@example.com"
        for field, value in blanks.items():
            setattr(user, field, value)
        if blanks:
            user.save(update_fields=list(blanks))

    def _banner(self, username: str, password: str) -> str:
        """The addresses every link points at (BASE_URL) and, when BASE_URL names another
        place (a proxy in front), the one this machine serves."""
        base = settings.BASE_URL
        lines = [
            "",
            _("  Site:  %(url)s/") % {"url": base},
            _("  Admin: %(url)s/admin/") % {"url": base},
            _("  Username: %(username)s") % {"username": username},
            _("  Password: %(password)s") % {"password": password},
        ]
        if base != settings.SERVED_URL:
            lines.append(
                _("  (served here on %(served)s; links follow BASE_URL)")
                % {"served": settings.SERVED_URL}
            )
        return "\n".join(lines) + "\n"

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
