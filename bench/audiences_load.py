"""bench.audiences: loading N subscribers with generate_series, and the old-layout copy
the baseline queries run on.

Every value is a deterministic function of the subscriber's number (`bench_u(seed, i)`,
a hash of i in [0, 1)), so a load is reproducible and the baseline tables hold exactly
the same people. Subscribers are written into the real tables (the schema comes from
the migrations); `insert_subscribers` is the one place that knows their storage layout.

The data: one big list (every subscriber; 2 % of them unsubscribed) and ten small lists
(subscriber i is on small list i % 100 when that is < 10: 1 % each); 1 to 5 tags each
out of 200, Zipf-like (tag k drawn with probability ~ 1/k); attributes city (Chinese and
other cities), plan and signup_source; languages en / zh-hans; eight time zones; 30 %
never engaged, the rest last engaged 0-365 days ago; 1 % of addresses suppressed;
Chinese names for the zh-hans subscribers, Latin names for the others.
"""

from __future__ import annotations

import datetime
import time

BIG_SLUG = "bench-aud-big"
SMALL_SLUGS = [f"bench-aud-small-{j}" for j in range(10)]
N_TAGS = 200
CHUNK = 1_000_000

CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "London", "Berlin", "New York", "Paris"]
CITY_WEIGHTS = [0.20, 0.15, 0.10, 0.10, 0.08, 0.07, 0.10, 0.07, 0.08, 0.05]
PLANS = ["free", "pro", "team", "enterprise"]
SOURCES = ["form", "import", "api", "event", "referral"]
ZONES = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "UTC",
]
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"]
GIVEN = ["芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军"]
FIRST = ["Anna", "James", "Maria", "David", "Sofia", "John", "Emma", "Lucas", "Olivia", "Noah"]
LAST = ["Smith", "Müller", "Garcia", "Brown", "Rossi", "Dubois", "Jones", "Taylor", "Wilson"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "qq.example.cn", "163.example.cn"]


def _city_case() -> str:
    """The city for a draw u, weighted by CITY_WEIGHTS, as one CASE expression."""
    upto, parts = 0.0, []
    for city, weight in zip(CITIES[:-1], CITY_WEIGHTS[:-1], strict=True):
        upto += weight
        parts.append(f"WHEN u < {upto:.4f} THEN '{city}'")
    return "CASE " + " ".join(parts) + f" ELSE '{CITIES[-1]}' END"


def _arr(values) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION bench_now() RETURNS timestamptz AS $$
  SELECT '{{now}}'::timestamptz
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION bench_u(seed int, i bigint) RETURNS float8 AS $$
  SELECT (hashint8(i * 1000003 + seed) & 2147483647)::float8 / 2147483648.0
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION bench_pick(arr text[], u float8) RETURNS text AS $$
  SELECT arr[1 + floor(u * array_length(arr, 1))::int]
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;
-- Tag k (1..{N_TAGS}) with probability ~ 1/k: log-uniform over 1..{N_TAGS + 1}.
CREATE OR REPLACE FUNCTION bench_tags(i bigint) RETURNS text[] AS $$
  SELECT coalesce(array_agg(DISTINCT t ORDER BY t), ARRAY[]::text[]) FROM (
    SELECT 'tag' || lpad(least({N_TAGS}, floor(exp(bench_u(100 + k, i) * ln({N_TAGS + 1})))::int)::text, 3, '0') AS t
    FROM generate_series(1, 1 + floor(bench_u(99, i) * 5)::int) AS k) AS x
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION bench_city(u float8) RETURNS text AS $$
  SELECT {_city_case()}
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;
"""

# One subscriber's generated values, by number i (the columns of `bench_people(lo, hi)`).
PEOPLE = f"""
CREATE OR REPLACE FUNCTION bench_people(lo bigint, hi bigint)
RETURNS TABLE (i bigint, email text, name text, language text, timezone text,
               attributes jsonb, tags text[], last_engaged_at timestamptz) AS $$
  SELECT i,
    'user' || i || '@' || bench_pick({_arr(DOMAINS)}, bench_u(1, i)),
    CASE WHEN bench_u(2, i) < 0.4
      THEN bench_pick({_arr(SURNAMES)}, bench_u(3, i)) || bench_pick({_arr(GIVEN)}, bench_u(4, i))
      ELSE bench_pick({_arr(FIRST)}, bench_u(3, i)) || ' ' || bench_pick({_arr(LAST)}, bench_u(4, i)) END,
    CASE WHEN bench_u(2, i) < 0.4 THEN 'zh-hans' ELSE 'en' END,
    bench_pick({_arr(ZONES)}, bench_u(6, i)),
    jsonb_build_object(
      'city', bench_city(bench_u(7, i)),
      'plan', ({_arr(PLANS)})[1 + floor(bench_u(8, i) ^ 2 * 4)::int],
      'signup_source', bench_pick({_arr(SOURCES)}, bench_u(9, i))),
    bench_tags(i),
    CASE WHEN bench_u(10, i) < 0.3 THEN NULL
      ELSE bench_now() - make_interval(secs => bench_u(11, i) * 365 * 86400) END
  FROM generate_series(lo, hi) AS i
$$ LANGUAGE sql STABLE;
"""


def _raw(connection):
    connection.ensure_connection()
    return connection.connection


def clear(connection) -> None:
    """Empty everything a previous load (or run) wrote."""
    from channels.email.models import Delivery, EmailSend

    tables = ", ".join(
        ["audiences_subscription", "audiences_subscriber", "audiences_suppression"]
        + ["audiences_segment", "audiences_importjob"]
        + [Delivery._meta.db_table, EmailSend._meta.db_table]
    )
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        cur.execute("DELETE FROM audiences_mailinglist WHERE slug LIKE 'bench-aud-%%'")
    from campaigns.models import Campaign
    from channels.models import ChannelAccount

    Campaign.objects.filter(slug__startswith="bench-aud-").delete()
    ChannelAccount.objects.filter(name__startswith="Bench audiences ").delete()
    with connection.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS bench_baseline CASCADE")


def insert_subscribers(cur, lo: int, hi: int, big_id: int, small_ids: list[int]) -> None:
    """Subscribers lo..hi into the real table, in its storage layout (the one function
    to change when the layout changes; see campaigns/audiences/models.py): tags as
    text[], list_ids (the lists subscribed to, sorted) and suppressed as the triggers
    would keep them (the load runs with triggers off, see `load`). Subscriber i gets id
    i; insert_subscriptions and insert_suppressions write the rows these mirror."""
    small = "ARRAY[" + ",".join(str(s) for s in small_ids) + "]::integer[]"
    cur.execute(
        "INSERT INTO audiences_subscriber (id, email, name, language, timezone, attributes,"
        " tags, list_ids, suppressed, last_engaged_at, created_at, updated_at)"
        " SELECT i, email, name, language, timezone, attributes, tags,"
        " ARRAY(SELECT x FROM unnest("
        "   CASE WHEN bench_u(20, i) < 0.02 THEN ARRAY[]::integer[] ELSE ARRAY[%s]::integer[] END"
        f"   || CASE WHEN i %% 100 < 10 THEN ARRAY[({small})[1 + i %% 100]] ELSE ARRAY[]::integer[] END"
        " ) AS x ORDER BY x),"
        " bench_u(30, i) < 0.01, last_engaged_at, now(), now() FROM bench_people(%s, %s)",
        [big_id, lo, hi],
    )


def insert_subscriptions(cur, lo: int, hi: int, big_id: int, small_ids: list[int]) -> None:
    small = "ARRAY[" + ",".join(str(s) for s in small_ids) + "]"
    common = (
        "consent_at, consent_method, consent_text, consent_basis, source_ip_hash,"
        " confirmed_at, unsubscribed_at, created_at"
    )
    cur.execute(
        f"INSERT INTO audiences_subscription (subscriber_id, mailing_list_id, status, {common})"
        " SELECT i, %s, CASE WHEN bench_u(20, i) < 0.02 THEN 'unsubscribed' ELSE 'subscribed' END,"
        " now(), 'import', '', 'bench', '', now(),"
        " CASE WHEN bench_u(20, i) < 0.02 THEN now() END, now()"
        " FROM generate_series(%s::bigint, %s::bigint) AS i",
        [big_id, lo, hi],
    )
    cur.execute(
        f"INSERT INTO audiences_subscription (subscriber_id, mailing_list_id, status, {common})"
        f" SELECT i, ({small})[1 + i %% 100], 'subscribed', now(), 'import', '', 'bench', '',"
        " now(), NULL, now() FROM generate_series(%s::bigint, %s::bigint) AS i WHERE i %% 100 < 10",
        [lo, hi],
    )


def insert_suppressions(cur, n: int) -> None:
    cur.execute(
        "INSERT INTO audiences_suppression (email, reason, detail, created_at)"
        " SELECT email, 'hard_bounce', 'bench', now() FROM audiences_subscriber"
        " WHERE bench_u(30, id) < 0.01"
    )


def make_lists(connection) -> tuple[int, list[int]]:
    from campaigns.audiences.models import MailingList

    big = MailingList.objects.create(name="Bench big list", slug=BIG_SLUG, double_opt_in=False)
    small = [
        MailingList.objects.create(name=f"Bench small list {j}", slug=slug)
        for j, slug in enumerate(SMALL_SLUGS)
    ]
    return big.pk, [s.pk for s in small]


def load(connection, n: int, log=print) -> float:
    """Clear and load n subscribers (ids 1..n), their lists and suppressions; analyze.
    Returns the seconds it took."""
    started = time.monotonic()
    clear(connection)
    raw = _raw(connection)
    with raw.cursor() as cur:
        cur.execute(FUNCTIONS.replace("{now}", datetime.datetime.now(datetime.UTC).isoformat()))
        cur.execute(PEOPLE)
    raw.commit()
    big_id, small_ids = make_lists(connection)
    with raw.cursor() as cur:
        # The columns triggers keep are written by insert_subscribers directly: a
        # trigger per subscription row would update each subscriber row again.
        cur.execute("SET session_replication_role = replica")
        for lo in range(1, n + 1, CHUNK):
            hi = min(n, lo + CHUNK - 1)
            insert_subscribers(cur, lo, hi, big_id, small_ids)
            insert_subscriptions(cur, lo, hi, big_id, small_ids)
            raw.commit()
            log(f"  loaded {hi:,} of {n:,} subscribers ({time.monotonic() - started:.0f} s)")
        insert_suppressions(cur, n)
        cur.execute("SET session_replication_role = DEFAULT")
        _refill_sample(cur)
        for table in ("audiences_subscriber", "audiences_subscription"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
    raw.commit()
    vacuum_analyze(connection)
    return time.monotonic() - started


def _refill_sample(cur) -> None:
    """The live estimate's sample (campaigns/audiences/sample.py), which the load's
    triggers-off inserts did not write; skipped on a checkout that has none."""
    try:
        from campaigns.audiences import sample
    except ImportError:
        return
    sample.refill(cur)


def vacuum_analyze(connection) -> None:
    raw = _raw(connection)
    autocommit = raw.autocommit
    raw.autocommit = True
    try:
        with raw.cursor() as cur:
            for table in (
                "audiences_subscriber",
                "audiences_subscription",
                "audiences_suppression",
            ):
                cur.execute(f"VACUUM ANALYZE {table}")
    finally:
        raw.autocommit = autocommit


# The tables as main had them before issue 19 (campaigns/audiences migrations 0001-0005),
# in their own schema: the baseline queries run on these with search_path bench_baseline.
BASELINE_DDL = """
CREATE SCHEMA bench_baseline;
CREATE TABLE bench_baseline.audiences_subscriber (
  id bigint PRIMARY KEY, email varchar(254) NOT NULL UNIQUE, name varchar(200) NOT NULL,
  language varchar(10) NOT NULL, timezone varchar(64) NOT NULL, attributes jsonb NOT NULL,
  tags varchar(1000) NOT NULL, last_engaged_at timestamptz, confirmation_sent_at timestamptz,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON bench_baseline.audiences_subscriber (last_engaged_at);
CREATE TABLE bench_baseline.audiences_subscription (
  id bigint PRIMARY KEY, subscriber_id bigint NOT NULL, mailing_list_id bigint NOT NULL,
  status varchar(20) NOT NULL, consent_at timestamptz NOT NULL, consent_method varchar(20) NOT NULL,
  consent_text text NOT NULL, consent_basis varchar(300) NOT NULL,
  source_ip_hash varchar(64) NOT NULL, confirmed_at timestamptz, unsubscribed_at timestamptz,
  created_at timestamptz NOT NULL, UNIQUE (subscriber_id, mailing_list_id));
CREATE INDEX ON bench_baseline.audiences_subscription (mailing_list_id, status);
CREATE INDEX ON bench_baseline.audiences_subscription (subscriber_id);
CREATE INDEX ON bench_baseline.audiences_subscription (mailing_list_id);
CREATE TABLE bench_baseline.audiences_suppression (
  id bigint PRIMARY KEY, email varchar(254) NOT NULL UNIQUE, reason varchar(20) NOT NULL,
  detail text NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX ON bench_baseline.audiences_suppression (upper(email));
"""


def load_baseline_tables(connection) -> float:
    """The same people in main's old layout (tags as ",a,b,", no new indexes), copied
    from the real tables by recomputing them from their numbers."""
    started = time.monotonic()
    raw = _raw(connection)
    with raw.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS bench_baseline CASCADE")
        cur.execute(BASELINE_DDL)
        cur.execute("SELECT max(id) FROM audiences_subscriber")
        n = cur.fetchone()[0] or 0
        for lo in range(1, n + 1, CHUNK):
            cur.execute(
                "INSERT INTO bench_baseline.audiences_subscriber SELECT i, email, name, language,"
                " timezone, attributes,"
                " CASE WHEN cardinality(tags) = 0 THEN '' ELSE ',' || array_to_string(tags, ',') || ',' END,"
                " last_engaged_at, NULL, now(), now() FROM bench_people(%s, %s)",
                [lo, min(n, lo + CHUNK - 1)],
            )
            raw.commit()
        cur.execute(
            "INSERT INTO bench_baseline.audiences_subscription SELECT id, subscriber_id,"
            " mailing_list_id, status, consent_at, consent_method, consent_text, consent_basis,"
            " source_ip_hash, confirmed_at, unsubscribed_at, created_at"
            " FROM public.audiences_subscription"
        )
        cur.execute(
            "INSERT INTO bench_baseline.audiences_suppression SELECT id, email, reason, detail,"
            " created_at FROM public.audiences_suppression"
        )
    raw.commit()
    autocommit = raw.autocommit
    raw.autocommit = True
    with raw.cursor() as cur:
        cur.execute("ANALYZE bench_baseline.audiences_subscriber")
        cur.execute("ANALYZE bench_baseline.audiences_subscription")
        cur.execute("ANALYZE bench_baseline.audiences_suppression")
    raw.autocommit = autocommit
    return time.monotonic() - started
