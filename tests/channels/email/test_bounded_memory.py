"""Freezing an audience and sending it never hold every recipient in memory (issue 19):
the rows the process reads per query are bounded by the batch (or the freeze chunk),
whatever the audience's size. Counted at the database cursor: every row any query
hands to Python while freezing or sending."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.backends.utils import CursorWrapper

from channels.email import audience
from channels.email.models import Delivery

from .conftest import drain, make_subscribers, publish

RECIPIENTS = 45
BATCH = 10  # the email_account fixture's batch_size


class RowCounter:
    """Rows fetched per statement and per fetch call, while installed."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Forget what the test's setup read."""
        self.per_statement: list[tuple[str, int]] = []
        self.largest_fetch = 0
        self.largest_fetch_sql = ""

    def statement(self, execute, sql, params, many, context):
        self.per_statement.append((sql, 0))
        return execute(sql, params, many, context)

    def fetched(self, rows) -> None:
        n = 0 if rows is None else (1 if isinstance(rows, tuple) else len(rows))
        if self.per_statement:
            sql, count = self.per_statement[-1]
            self.per_statement[-1] = (sql, count + n)
        if n > self.largest_fetch:
            self.largest_fetch = n
            self.largest_fetch_sql = self.per_statement[-1][0] if self.per_statement else ""

    def most_rows(self) -> tuple[str, int]:
        return max(self.per_statement, key=lambda s: s[1], default=("", 0))


@pytest.fixture
def rows_read(monkeypatch):
    counter = RowCounter()

    def wrap(name):
        def fetch(self, *args):
            rows = getattr(self.cursor, name)(*args)
            counter.fetched(rows)
            return rows

        return fetch

    for name in ("fetchone", "fetchmany", "fetchall"):
        monkeypatch.setattr(CursorWrapper, name, wrap(name), raising=False)
    with connection.execute_wrapper(counter.statement):
        yield counter


@pytest.mark.django_db
def test_freezing_reads_the_audience_in_chunks(
    smtp_server, no_celery, mailing_list, email_publication, rows_read, monkeypatch
):
    make_subscribers(mailing_list, RECIPIENTS)
    monkeypatch.setattr(audience, "FREEZE_CHUNK", 7)
    written = []
    real_bulk_create = Delivery.objects.bulk_create

    def recording_bulk_create(objs, *args, **kwargs):
        written.append(len(objs))
        return real_bulk_create(objs, *args, **kwargs)

    monkeypatch.setattr(Delivery.objects, "bulk_create", recording_bulk_create)
    rows_read.reset()
    send = publish(email_publication)
    assert send.recipient_count == RECIPIENTS
    assert Delivery.objects.filter(publication=email_publication).count() == RECIPIENTS
    if connection.vendor == "postgresql":
        # One INSERT ... SELECT: no recipient row comes to this process at all.
        assert written == []
        assert rows_read.most_rows()[1] < 7, rows_read.most_rows()
    else:
        # Streamed in chunks of FREEZE_CHUNK, written in chunks of FREEZE_CHUNK.
        assert max(written) <= 7 and sum(written) == RECIPIENTS
        assert rows_read.largest_fetch <= 7, rows_read.largest_fetch_sql


@pytest.mark.django_db
def test_the_send_loop_reads_one_batch_at_a_time(
    smtp_server, no_celery, mailing_list, email_publication, rows_read
):
    _controller, handler = smtp_server
    make_subscribers(mailing_list, RECIPIENTS)
    send = publish(email_publication)
    rows_read.reset()
    drain(send)
    # Every recipient once, in ceil(45 / 10) claims of at most a batch each.
    assert len(handler.count_by_recipient()) == RECIPIENTS
    assert set(handler.count_by_recipient().values()) == {1}
    sql, most = rows_read.most_rows()
    assert most <= BATCH, (most, sql)
    claims = [
        n for sql, n in rows_read.per_statement if "FOR UPDATE" in sql or "claim_token" in sql
    ]
    assert claims and max(claims) <= BATCH
    assert (
        Delivery.objects.filter(publication=email_publication, status="sent").count() == RECIPIENTS
    )
