"""The JSON log formatter: one parseable object per line, ids as top-level fields."""

import io
import json
import logging

import pytest

from config.ops.logging import JsonFormatter, log_context


@pytest.fixture
def capture():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.ops.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield logger, lines
    logger.removeHandler(handler)


def test_ids_passed_via_extra_become_fields(capture):
    logger, lines = capture
    logger.info("published %s", "post", extra={"publication_id": 42, "campaign_id": 7})
    (line,) = lines()
    assert line["message"] == "published post"
    assert line["publication_id"] == 42
    assert line["campaign_id"] == 7
    assert line["level"] == "INFO"
    assert line["logger"] == "tests.ops.json"
    assert line["ts"].endswith("+00:00")


def test_log_context_applies_to_every_line_and_nests(capture):
    logger, lines = capture
    with log_context(campaign_id=3):
        logger.info("a")
        with log_context(publication_id=9):
            logger.info("b")
        logger.info("c")
    logger.info("d")
    a, b, c, d = lines()
    assert a["campaign_id"] == 3 and "publication_id" not in a
    assert b["campaign_id"] == 3 and b["publication_id"] == 9
    assert c["campaign_id"] == 3 and "publication_id" not in c
    assert "campaign_id" not in d


def test_exceptions_and_unserialisable_values_never_break_a_line(capture):
    logger, lines = capture
    try:
        raise ValueError("邮件 failed")
    except ValueError:
        logger.exception(
            "boom", extra={"obj": object(), "when": __import__("datetime").date(2026, 1, 2)}
        )
    (line,) = lines()
    assert line["exc_type"] == "ValueError"
    assert "邮件 failed" in line["exc"]
    assert line["obj"].startswith("<object object")
    assert line["when"] == "2026-01-02"


def test_message_with_newlines_stays_on_one_line(capture):
    logger, lines = capture
    logger.warning('line1\nline2\r\n{"fake": true}')
    (line,) = lines()
    assert line["message"] == 'line1\nline2\r\n{"fake": true}'


def test_celery_task_ids_are_bound_while_a_task_runs(capture):
    from celery import signals

    logger, lines = capture

    class FakeTask:
        name = "campaigns.tasks.publish"

    signals.task_prerun.send(
        sender=FakeTask, task_id="t-1", task=FakeTask(), args=(), kwargs={"publication_id": 5}
    )
    logger.info("inside")
    signals.task_postrun.send(sender=FakeTask, task_id="t-1", task=FakeTask())
    logger.info("after")
    inside, after = lines()
    assert inside["task_id"] == "t-1"
    assert inside["task_name"] == "campaigns.tasks.publish"
    assert inside["publication_id"] == 5
    assert "task_id" not in after
