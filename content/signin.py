"""What the admin's sign-in page says when sign-in is refused for too many wrong
passwords. The words live here, in an app with a catalogue, so they are translated;
`config/security.py` (django-axes' lockout answer) shows them."""

from django.utils.translation import ngettext


def lockout_message(minutes: int) -> str:
    return ngettext(
        "Too many failed sign-in attempts. Signing in to this account from your address is "
        "locked for %(minutes)d minute, even with the right password; an administrator can "
        "unlock it sooner.",
        "Too many failed sign-in attempts. Signing in to this account from your address is "
        "locked for %(minutes)d minutes, even with the right password; an administrator can "
        "unlock it sooner.",
        minutes,
    ) % {"minutes": minutes}
