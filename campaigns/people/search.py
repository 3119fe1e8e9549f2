"""People search: one box, by email, name, phone or company, each an index lookup.

Phone and company stay where landing-page forms and imports write them,
`Subscriber.attributes` (one home: no copy in columns to keep in step); PostgreSQL
indexes the expressions the queries use (people migration 0002):

- email: the subscriber listing's search (listing.search_subscribers: email prefix,
  name containing/prefix, Chinese included), reused;
- phone: 4 or more digits in the query (spaces, dashes, brackets and "+" ignored on
  both sides) are looked for inside the stored phone's digits (`people_phone_trgm`,
  pg_trgm GIN over the normalised phone);
- company: names containing the query from 3 characters on (`people_company_trgm`),
  by prefix for 1-2 characters such as a Chinese short name (`people_company_pattern`).
SQLite runs the same queries without the indexes.
"""

from __future__ import annotations

from django.db.models import TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Replace

from campaigns.audiences.listing import SHORT_NAME, search_subscribers
from campaigns.audiences.models import Subscriber

RESULTS = 50
PHONE_NOISE = (" ", "-", "(", ")", "+", ".")
MIN_PHONE_DIGITS = 4


def phone_digits(text: str) -> str:
    for ch in PHONE_NOISE:
        text = text.replace(ch, "")
    return text


def phone_expression():
    """The stored phone without PHONE_NOISE, in SQL (the index is on this)."""
    expr = KeyTextTransform("phone", "attributes")
    for ch in PHONE_NOISE:
        expr = Replace(expr, Value(ch), Value(""), output_field=TextField())
    return expr


def search_people(query: str, limit: int = RESULTS) -> list[Subscriber]:
    """The people matching `query` (at most `limit`), by address. One query per field,
    each reading its own index (an OR of them would scan the table)."""
    text = " ".join(str(query or "").split())
    if not text:
        return []
    base = Subscriber.objects.all()
    found = list(search_subscribers(base, text).order_by()[:limit])
    digits = phone_digits(text)
    if len(digits) >= MIN_PHONE_DIGITS and digits.isascii() and digits.isdigit():
        phones = base.alias(phone_digits=phone_expression())
        found += phones.filter(phone_digits__contains=digits).order_by()[:limit]
    if "@" not in text:
        lookup = "icontains" if len(text) >= SHORT_NAME else "istartswith"
        found += base.filter(**{f"attributes__company__{lookup}": text}).order_by()[:limit]
    people = {person.pk: person for person in found}
    return sorted(people.values(), key=lambda p: p.email)[:limit]
