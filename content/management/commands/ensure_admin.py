import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


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
