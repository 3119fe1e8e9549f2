from django.core.management.base import BaseCommand, CommandError

from channels.crypto import SecretDecryptionError
from channels.services import rotate_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored channel secret with the newest key in "
        "FIELD_ENCRYPTION_KEYS. Put the new key first, run this, then drop the old key."
    )

    def handle(self, *args, **options):
        try:
            count = rotate_secrets()
        except SecretDecryptionError as exc:
            raise CommandError(
                f"{exc}. Keep every key that encrypted existing rows in FIELD_ENCRYPTION_KEYS "
                "until the rotation has run."
            ) from exc
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted secrets of {count} account(s)."))
