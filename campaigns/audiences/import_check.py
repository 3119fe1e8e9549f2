"""Checking an import's rows, one at a time as they are read.

`checked_rows` does what a row alone decides (an unreadable record, a bad address, an
unknown language or time zone, more columns than the header, over-long values);
`validate_import` adds what needs the database and the other rows (duplicates within
the file, suppressed addresses, people who left or are already on the list) the plain
way, in Python, as SQLite runs it; import_apply.py does the same in SQL on PostgreSQL.

Addresses are checked by addresses.validate_address; a plain ASCII address that a
strict pattern accepts (dot-atom local part, lower-case LDH labels, a TLD of letters)
skips its IDNA encoding, and anything else takes the full check, so nothing it refuses
is accepted.
"""

from __future__ import annotations

import functools
import operator
import re
import zoneinfo
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .addresses import MAX_ADDRESS, MAX_LOCAL, validate_address
from .erased import erased_test
from .import_reading import REJECTED, SKIPPED, ImportFileError, problem_row, read_rows
from .models import MailingList, Subscription, Suppression, normalise_tags
from .services import normalise_email

FIELDS = ["email", "name", "language", "timezone", "tags"]
LANGUAGES = {"en": "en", "zh-hans": "zh-hans", "zh": "zh-hans", "zh-cn": "zh-hans", "": ""}

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# A local part of at most MAX_LOCAL characters (ASCII: octets), no "--" in the domain.
_PLAIN_ADDRESS = re.compile(
    rf"(?=[^@]{{1,{MAX_LOCAL}}}@){_ATOM}(?:\.{_ATOM})*@(?!.*--)(?:{_LABEL}\.)+[a-z]{{2,63}}"
)


def plain_address(value: str) -> bool:
    """Whether `value` is a plain ASCII address that validate_address accepts, decided
    by a pattern alone; False says nothing (the full check decides). The pattern accepts
    only what the full check accepts too: IDNA refuses a label with "--" (xn-- and
    3rd/4th-position hyphens), so such domains go the long way."""
    return len(value) <= MAX_ADDRESS and _PLAIN_ADDRESS.fullmatch(value) is not None


def address_ok(value: str) -> bool:
    """validate_address as a yes/no, quick for the plain ASCII addresses most files
    hold (plain_address)."""
    if plain_address(value):
        return True
    try:
        validate_address(value)
    except ValidationError:
        return False
    return True


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _row_problem(
    values: dict, cells: list[str], width: int, email_index: int
) -> tuple[str, dict] | None:
    """Why a row cannot be imported at all (a REASONS code and its values), or None."""
    if email_index >= len(cells) and len(cells) < width:
        # Trailing empty columns may be left out; the address may not.
        return "short_row", {"n": len(cells), "width": width}
    if len(cells) > width:
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            # An unquoted comma in a name shifts every later column: refusing the row
            # is safer than importing an address from the wrong column.
            return "extra_columns", {"n": len(extra)}
    if any("\x00" in v for v in values.values()):
        return "nul", {}
    if not address_ok(values["email"]):
        return "email", {}
    if values.get("language", "").strip().lower() not in LANGUAGES:
        return "language", {"lang": values["language"][:50]}
    zone = values.get("timezone", "")
    if zone and zone not in _zones():
        return "timezone", {"zone": zone[:64]}
    if len(values.get("name", "")) > 200:
        return "long_name", {}
    tags = normalise_tags(values.get("tags", ""))
    if len(",".join(tags)) > 1000:
        return "long_tags", {}
    values["tags"] = tags  # as stored: a sorted list
    return None


def _quick_check(mapping: dict, width: int):
    """A check for the rows most files are made of (as many cells as the header, a plain
    ASCII address, a known language and time zone, no NUL): the row's values ready to
    import, exactly as the full check makes them, or None, and the full check decides
    (it gives the reason). None when the mapping is not the usual one."""
    index = {field: int(i) for field, i in mapping.items()}
    if not set(index) <= set(FIELDS) or not all(0 <= i < width for i in index.values()):
        return None
    zones, languages, match = _zones(), LANGUAGES, _PLAIN_ADDRESS.fullmatch
    tag_lists: dict[str, list[str] | None] = {}
    if set(index) == set(FIELDS):  # the usual file: one getter for the five cells
        cells_of = operator.itemgetter(*(index[field] for field in FIELDS))
    else:
        at = [index.get(field) for field in FIELDS]

        def cells_of(cells):
            return ["" if i is None else cells[i] for i in at]

    def quick(cells: list[str]) -> dict | None:
        email, name, language, zone, tag_text = cells_of(cells)
        email, name, language, zone = email.strip(), name.strip(), language.strip(), zone.strip()
        if not email.isascii():  # ASCII: NFC (normalise_email) leaves it as it is
            return None
        local, _at, domain = email.rpartition("@")
        email = f"{local}@{domain.lower()}"
        tag_text = tag_text.strip()
        stored = languages.get(language.lower())
        if (
            stored is None
            or (zone and zone not in zones)
            or len(name) > 200
            or len(email) > MAX_ADDRESS
            or match(email) is None
            or "\x00" in name + language + zone + tag_text
        ):
            return None
        tags = tag_lists.get(tag_text, False)
        if tags is False:
            tags = normalise_tags(tag_text)
            tags = None if len(",".join(tags)) > 1000 else tags
            if len(tag_lists) < 10_000:
                tag_lists[tag_text] = tags
        if tags is None:
            return None
        return {
            "email": email,
            "name": name,
            "language": stored or "en",
            "timezone": zone or "UTC",
            "tags": list(tags),
        }

    return quick


def checked_rows(
    data: bytes, encoding: str, mapping: dict, reported: frozenset[int] | None = None
) -> tuple[list[str], Iterator[tuple[int, list[str], dict | None, dict | None]]]:
    """(header, iterator of (row, cells, values, problem)) for every non-empty row:
    `problem` is the rejected row's report entry, else `values` the row ready to
    import (address normalised, language as stored, time zone defaulted to UTC, tags
    normalised, as a list).

    `reported` is for the run after a check: the rows its report named are passed
    over, and the others, which the same checks already passed (the file is the
    job's own and never changes), are only put in their stored form."""
    if "email" not in mapping:
        raise ImportFileError(_("Choose which column holds the email address."))
    header, rows = read_rows(data, encoding)
    if not header:
        raise ImportFileError(_("The file is empty or not CSV."))
    width = len(header)
    fields = [(field, int(index)) for field, index in mapping.items()]
    email_index = int(mapping["email"])
    quick = _quick_check(mapping, width)

    def generate():
        for row, cells, unreadable in rows:
            if (
                quick
                and unreadable is None
                and len(cells) == width
                and (reported is None or row not in reported)
            ):
                values = quick(cells)
                if values is not None:
                    yield row, cells, values, None
                    continue
            if unreadable:
                yield row, cells, None, problem_row(row, cells, REJECTED, *unreadable)
                continue
            if not any(cell.strip() for cell in cells):
                continue  # an empty row holds nothing to lose
            if reported is not None and row in reported:
                continue
            n = len(cells)
            values = {field: (cells[i].strip() if 0 <= i < n else "") for field, i in fields}
            email = values["email"] = normalise_email(values.get("email", ""))
            if reported is not None and values.get("language", "").lower() in LANGUAGES:
                values["tags"] = normalise_tags(values.get("tags", ""))
                problem = None
            else:
                problem = _row_problem(values, cells, width, email_index)
            if problem:
                yield row, cells, None, problem_row(row, cells, REJECTED, *problem, email=email)
                continue
            values["language"] = LANGUAGES[values.get("language", "").strip().lower()] or "en"
            values["timezone"] = values.get("timezone") or "UTC"
            values["name"] = values.get("name", "")
            yield row, cells, values, None

    return header, generate()


def validate_import(
    data: bytes,
    encoding: str,
    mapping: dict,
    mailing_list: MailingList,
    progress=None,
    recheck: bool = False,
) -> tuple[list[str], list[dict], list[dict]]:
    """The plain check (SQLite): every row, writing nothing. Returns (header, clean
    rows, problems): the problems in the file's order, each {"row", "kind", "problem",
    "email", "values"}, kind "rejected" (cannot be imported) or "skipped" (a duplicate
    in the file, a suppressed address, someone who left the list: never (re)subscribed;
    someone already on the list). `recheck` is the check an import runs just before
    writing: people already on the list are then the ones a re-run of the same import
    added, and stay valid (applying them again changes nothing)."""
    header, rows = checked_rows(data, encoding, mapping)
    suppressed = {e.lower() for e in Suppression.objects.values_list("email", flat=True)}
    erased = erased_test()
    on_list: dict[str, str] = {
        email.lower(): status
        for email, status in Subscription.objects.filter(mailing_list=mailing_list).values_list(
            "subscriber__email", "status"
        )
    }
    seen: dict[str, int] = {}
    clean, problems = [], []
    for count, (row, cells, values, problem) in enumerate(rows, start=1):
        if progress and count % 1000 == 0:
            progress(count)
        if problem:
            problems.append(problem)
            continue
        email = values["email"]
        key = email.lower()
        if key in seen:
            duplicate = {"row": seen[key]}
            problems.append(problem_row(row, cells, SKIPPED, "duplicate", duplicate, email=email))
        elif key in suppressed or erased(key):
            problems.append(problem_row(row, cells, SKIPPED, "suppressed", email=email))
        elif on_list.get(key) == Subscription.Status.UNSUBSCRIBED:
            problems.append(problem_row(row, cells, SKIPPED, "unsubscribed", email=email))
        elif key in on_list and not recheck:
            # Counted apart, so "Import the N valid rows" promises only new people.
            problems.append(problem_row(row, cells, SKIPPED, "already", email=email))
        else:
            seen[key] = row
            values["row"] = row
            clean.append(values)
    return header, clean, problems
