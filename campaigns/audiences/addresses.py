"""Checking an email address, internationalised ones included.

Django's EmailValidator refuses a non-ASCII local part (`王芳@example.com`), which
RFC 6531 (SMTPUTF8) allows and Chinese mailbox providers hand out. This check accepts
a dot-atom local part of ASCII atext or Unicode letters, marks and digits, and a domain
that IDNA can encode (`例子.中国`), and still refuses what no server would deliver to:
spaces, control and invisible format characters, emoji, quoted or bracketed parts,
empty labels and over-long parts.
"""

from __future__ import annotations

import unicodedata

import idna
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

# RFC 5322 atext: the ASCII a dot-atom may hold besides letters and digits.
ASCII_ATEXT = set("!#$%&'*+-/=?^_`{|}~")
# RFC 5321 limits, in octets of the UTF-8 form (RFC 6531 keeps them).
MAX_LOCAL = 64
MAX_ADDRESS = 254

MESSAGE = _("not a valid email address")


def _local_char_ok(char: str) -> bool:
    if char.isascii():
        return char.isalnum() or char in ASCII_ATEXT
    # Letters, combining marks and digits of any script; not symbols (emoji), spaces,
    # controls or format characters (zero-width joiners, bidi overrides).
    return unicodedata.category(char)[0] in "LMN"


def ascii_domain(domain: str) -> str:
    """The domain as DNS spells it (IDNA 2008, with UTS 46 mapping: `例子.中国` ->
    `xn--fsqu00a.xn--fiqs8s`). Raises ValueError when it is not a domain."""
    if not domain or domain.endswith(".") or ".." in domain:
        raise ValueError(domain)
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(domain) from exc


def validate_address(value: str) -> None:
    """Raise ValidationError unless `value` is a deliverable-looking address."""
    if not isinstance(value, str) or value.count("@") != 1:
        raise ValidationError(MESSAGE, code="invalid")
    local, domain = value.split("@")
    if (
        not local
        or len(local.encode("utf-8")) > MAX_LOCAL
        or len(value.encode("utf-8")) > MAX_ADDRESS
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or not all(c == "." or _local_char_ok(c) for c in local)
        or unicodedata.normalize("NFC", local) != local
    ):
        raise ValidationError(MESSAGE, code="invalid")
    try:
        encoded = ascii_domain(domain)
    except ValueError:
        raise ValidationError(MESSAGE, code="invalid") from None
    # The ASCII form must also pass Django's own domain check (a dot, a TLD of letters
    # or punycode, no bare IP unless bracketed, which we refuse anyway).
    try:
        validate_email(f"x@{encoded}")
    except ValidationError:
        raise ValidationError(MESSAGE, code="invalid") from None
    if "[" in domain or "." not in encoded:  # no bare IPs, no "localhost"
        raise ValidationError(MESSAGE, code="invalid")
