"""The audience admin listings at millions of rows: counts that never scan the table,
search that uses indexes, and the mailing lists' member counts.

Counting. A page of the subscriber index never runs COUNT(*) over the table:
- the unfiltered listing on PostgreSQL shows the planner's estimate of the table's rows
  (`pg_class.reltuples`, kept by autovacuum/ANALYZE) as "About 10,000,000";
- a searched or filtered listing reads at most COUNT_CAP + 1 matching ids
  (`SELECT id ... LIMIT 1001`) and says "More than 1,000" beyond (a common word's
  bitmap of a few hundred thousand rows would cost more than a page); when they are
  fewer, its pages are those ids, sorted, so a rare match never walks the email index
  across the table;
- a search reads its email prefix and name prefix matches first, each from its btree
  index (`quick_search_matches`): when one of them passes the cap, so does the search,
  and no bitmap of all the matches is built for the count;
- with more matches than the cap, a page is read in the listing's order within
  PAGE_TIMEOUT_MS; when the matches lie far along that order (a list's members after
  millions of imported addresses that sort first), the pages list the matches read
  while counting, sorted, and say so;
- small results (and SQLite's unfiltered listing, where a count is cheap) are exact.
Pages beyond the first COUNT_CAP rows are not offered (an OFFSET of millions reads them
all): the listing says so and points to search and filters.

Search (one box, `search_subscribers`), indexes from migration 0007 on PostgreSQL:
- input with an "@" is an address: case-insensitive prefix of the email, normalised as
  the app stores addresses (services.normalise_email), so a whole address finds exactly
  that subscriber; index `audiences_subscriber_email_pattern`, UPPER(email)
  text_pattern_ops, which also serves `email__iexact`;
- other input of 3 or more characters: email prefix OR name containing it (pg_trgm GIN
  on UPPER(name), `audiences_subscriber_name_trgm`; Chinese characters are trigram
  characters under the database's UTF-8 ctype);
- 1 or 2 characters (a Chinese surname, 王 or 王芳, has too few for a trigram): email
  prefix OR name *prefix* (`audiences_subscriber_name_pattern`): "王" finds 王芳 and
  王小明, not 李王; a longer query finds names containing it anywhere.
SQLite runs the same queries without the indexes.

Member counts. Counting a 10M-member list takes seconds, so the mailing-list index shows
`MailingList.subscriber_count` with the time it was counted, refreshed by the
`refresh_list_counts` task (every few minutes, see CELERY_BEAT_SCHEDULE) and after
imports. A list never counted yet shows a capped live count instead.
"""

from __future__ import annotations

import math

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.admin.paginator import WagtailPaginator

from .models import MailingList, Subscriber, Subscription
from .services import normalise_email

COUNT_CAP = 1_000
SHORT_NAME = 3  # shorter queries match names by prefix (no trigram to look up)

# A search or filter's matches are read for at most this long (PostgreSQL).
READ_TIMEOUT_MS = 80
# A page of many matches in the listing's order: walking that order's index past rows
# that do not match gives up sooner, as the matches read while counting are at hand.
PAGE_TIMEOUT_MS = 40

EXACT, ABOUT, MORE_THAN, MANY = "exact", "about", "more_than", "many"


def capped_count(queryset, cap: int | None = None) -> int:
    """The number of rows, counting no further than cap + 1 (COUNT_CAP + 1)."""
    cap = COUNT_CAP if cap is None else cap
    return queryset.order_by()[: cap + 1].count()


def estimated_rows(model) -> int | None:
    """The planner's estimate of a table's rows (PostgreSQL), None when unknown."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
        )
        row = cursor.fetchone()
    # -1: never vacuumed or analysed.
    return int(row[0]) if row and row[0] >= 0 else None


def _read_capped(queryset, timeout_ms: int | None = None):
    """The rows, or None when PostgreSQL cannot read them within `timeout_ms`
    (READ_TIMEOUT_MS unless given: a word in a few hundred thousand names, whose trigram
    bitmap alone takes longer than a page may). SQLite has no statement timeout and
    reads them all."""
    if connection.vendor != "postgresql":
        return list(queryset)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = %s", [timeout_ms or READ_TIMEOUT_MS])
            rows = list(queryset)
            # Inside a request's transaction the savepoint's release would keep it.
            cursor.execute("SET LOCAL statement_timeout = DEFAULT")
            return rows
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "57014":  # query_canceled
            raise
        return None


class _RowsByIds:
    """A listing's few matching rows in its order: their ids and sort keys read in one
    pass (no ORDER BY ... LIMIT that would walk the email index past millions of
    non-matching rows), sorted here (code point order, as the database's C.UTF-8
    collation), then each page's rows read by id."""

    def __init__(self, model, keyed_rows, ordering):
        self.model = model
        rows = list(keyed_rows)
        for position in reversed(range(len(ordering))):
            rows.sort(key=lambda r: r[position + 1], reverse=ordering[position].startswith("-"))
        self.ids = [r[0] for r in rows]

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        ids = self.ids[index] if isinstance(index, slice) else [self.ids[index]]
        rows = self.model._default_manager.in_bulk(ids)
        found = [rows[pk] for pk in ids if pk in rows]
        return found if isinstance(index, slice) else found[0]


class AudiencePaginator(WagtailPaginator):
    """A paginator whose count is exact, an estimate or a lower bound (see the module
    docstring), and which offers only the pages an OFFSET reaches cheaply."""

    def __init__(self, object_list, per_page, *, whole_table=False, quick_matches=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.whole_table = whole_table
        # Querysets of some of the matches that one index each finds at once (a
        # search's prefix matches, see quick_search_matches): when one passes the cap,
        # so do all the matches.
        self.quick_matches = quick_matches or []
        self.exactness = EXACT
        self.found = []  # the matches read while counting, in no order
        self.found_order = ["pk"]
        self.listed_as_found = False

    @cached_property
    def count(self):
        if self.whole_table:
            estimate = estimated_rows(self.object_list.model)
            if estimate is not None and estimate > COUNT_CAP:
                self.exactness = ABOUT
                return estimate
            if connection.vendor != "postgresql":
                return self.object_list.count()
        queryset = self.object_list
        ordering = [o for o in (queryset.query.order_by or queryset.model._meta.ordering) if o]
        if not all(isinstance(o, str) for o in ordering):
            ordering = ["pk"]
        keys = [o.lstrip("-") for o in ordering]
        self.found_order = ordering
        for some in self.quick_matches:
            rows = _read_capped(some.order_by().values_list("pk", *keys)[: COUNT_CAP + 1])
            if rows is not None and len(rows) > COUNT_CAP:
                self.found, self.exactness = rows, MORE_THAN
                return COUNT_CAP
        rows = _read_capped(queryset.order_by().values_list("pk", *keys)[: COUNT_CAP + 1])
        if rows is None:  # too slow to read: a very common word; page in index order
            self.exactness = MANY
            return COUNT_CAP
        if len(rows) > COUNT_CAP:
            self.found, self.exactness = rows, MORE_THAN
            return COUNT_CAP
        # Few matches: the pages read them by primary key and sort them, rather than
        # walking the ordering's index past millions of rows that do not match (the
        # planner cannot tell how rare a name or prefix is).
        self.object_list = _RowsByIds(queryset.model, rows, ordering)
        return len(rows)

    def page(self, number):
        page = super().page(number)
        if self.exactness != MORE_THAN or self.listed_as_found:
            return page
        # Many matches, paged in the listing's order: reading a page walks that order's
        # index until it has met enough matches, which is quick unless the matches lie
        # far along it (a list's members after two million imported addresses that sort
        # first). Past PAGE_TIMEOUT_MS the pages list the COUNT_CAP matches read while
        # counting, sorted, and say so.
        rows = _read_capped(page.object_list, PAGE_TIMEOUT_MS)
        if rows is not None:
            page.object_list = rows
            return page
        self.object_list = _RowsByIds(
            self.object_list.model, self.found[:COUNT_CAP], self.found_order
        )
        self.listed_as_found = True
        return super().page(number)

    @cached_property
    def num_pages(self):
        count = self.count
        if count == 0 and not self.allow_empty_first_page:
            return 0
        reachable = min(count, COUNT_CAP) - self.orphans
        return max(1, math.ceil(max(reachable, 1) / self.per_page))

    @property
    def truncated(self) -> bool:
        """Whether rows exist beyond the pages offered."""
        return self.exactness != EXACT

    @cached_property
    def items_count_label(self):
        return count_phrase(self.count, self.exactness)


def count_phrase(count: int, exactness: str = EXACT) -> str:
    n = intcomma(count)
    if exactness == ABOUT:
        return ngettext("About %(n)s subscriber", "About %(n)s subscribers", count) % {"n": n}
    if exactness == MORE_THAN:
        return ngettext("More than %(n)s subscriber", "More than %(n)s subscribers", count) % {
            "n": n
        }
    if exactness == MANY:
        return _("Too many subscribers to count quickly")
    # Wagtail's own wording for an exact count: the number and the model's name.
    name = Subscriber._meta.verbose_name if count == 1 else Subscriber._meta.verbose_name_plural
    return f"{n} {name}"


def quick_search_matches(queryset, query: str) -> list:
    """Parts of search_subscribers' matches that one btree index each finds at once, in
    its own order (no bitmap to build first): the email prefix, and the name prefix
    when the search also looks inside names. A common word ("Anna Smith", 66,000 people
    in ten million; an address prefix shared by a million) takes longer than a page may
    to read its first thousand matches as one search; one part alone passes the cap in
    a few milliseconds, and the count needs no more."""
    text = normalise_email(query)
    if not text or "@" in text:  # an address: the search is its prefix alone
        return []
    return [queryset.filter(email__istartswith=text), queryset.filter(name__istartswith=text)]


def search_subscribers(queryset, query: str):
    """Subscribers matching the one search box (see the module docstring)."""
    text = normalise_email(query)
    if not text:
        return queryset
    condition = Q(email__istartswith=text)
    if "@" not in text:
        if len(text) >= SHORT_NAME:
            condition |= Q(name__icontains=text)
        else:
            condition |= Q(name__istartswith=text)
    return queryset.filter(condition)


# --- mailing-list member counts ---------------------------------------------------------
def subscribed_members(mailing_list_id: int):
    return Subscription.objects.filter(
        mailing_list_id=mailing_list_id, status=Subscription.Status.SUBSCRIBED
    )


def refresh_list_counts(list_ids=None) -> int:
    """Count each list's subscribed members exactly and store the count with its time.
    Returns how many lists were counted."""
    lists = MailingList.objects.all()
    if list_ids is not None:
        lists = lists.filter(pk__in=list_ids)
    done = 0
    for pk in lists.values_list("pk", flat=True).iterator():
        count = subscribed_members(pk).count()
        MailingList.objects.filter(pk=pk).update(
            subscriber_count=count, subscriber_count_at=timezone.now()
        )
        done += 1
    return done


def member_count(mailing_list) -> dict:
    """What the list index shows: the stored count and when it was counted, or, for a
    list never counted, a live count capped at COUNT_CAP."""
    return member_counts([mailing_list])[mailing_list.pk]


def member_counts(mailing_lists) -> dict[int, dict]:
    """member_count for each of a page's lists, the lists never counted yet counted (up
    to COUNT_CAP + 1 members each) in one query rather than one per row."""
    out, uncounted = {}, []
    for ml in mailing_lists:
        if ml.subscriber_count_at is not None:
            out[ml.pk] = {
                "count": ml.subscriber_count,
                "exactness": EXACT,
                "counted_at": ml.subscriber_count_at,
            }
        else:
            uncounted.append(ml.pk)
    if uncounted:
        now = timezone.now()
        for pk, counted in _capped_member_counts(uncounted).items():
            if counted > COUNT_CAP:
                out[pk] = {"count": COUNT_CAP, "exactness": MORE_THAN, "counted_at": None}
            else:
                out[pk] = {"count": counted, "exactness": EXACT, "counted_at": now}
    return out


def _capped_member_counts(list_ids: list[int]) -> dict[int, int]:
    """Subscribed members of each list, counting no further than COUNT_CAP + 1: a
    correlated LIMIT per list (the subscription index on list and status)."""
    members = Subscription._meta.db_table
    lists = MailingList._meta.db_table
    marks = ", ".join(["%s"] * len(list_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ml.id, (SELECT COUNT(*) FROM (SELECT 1 FROM {members} AS s"
            "  WHERE s.mailing_list_id = ml.id AND s.status = %s LIMIT %s) AS capped)"
            f" FROM {lists} AS ml WHERE ml.id IN ({marks})",
            [Subscription.Status.SUBSCRIBED.value, COUNT_CAP + 1, *list_ids],
        )
        return dict(cursor.fetchall())


def describe_count(info: dict) -> str:
    n = intcomma(info["count"])
    if info["exactness"] == MORE_THAN:
        return _("More than %(n)s (counting soon)") % {"n": n}
    return n


# --- a subscriber's page ----------------------------------------------------------------
MEMBERSHIPS_SHOWN = 20


def subscriber_memberships(subscriber) -> dict:
    """The first MEMBERSHIPS_SHOWN of a subscriber's subscriptions (list and status) and
    how many more there are (capped): never every related row."""
    rows = list(
        Subscription.objects.filter(subscriber=subscriber)
        .select_related("mailing_list")
        .order_by("mailing_list__name", "pk")[: MEMBERSHIPS_SHOWN + 1]
    )
    more = 0
    if len(rows) > MEMBERSHIPS_SHOWN:
        rows = rows[:MEMBERSHIPS_SHOWN]
        more = capped_count(Subscription.objects.filter(subscriber=subscriber)) - len(rows)
    return {"subscriptions": rows, "more": more, "tags": subscriber.tag_list}
