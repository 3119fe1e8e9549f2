"""Structured JSON logs, one object per line, for log shippers (Loki, ELK, CloudWatch).

How a service attaches ids (the contract other apps use):

    logger.info("publish started", extra={"publication_id": pub.pk, "campaign_id": pub.campaign_id})

or, for every line logged inside a block (a task, a batch):

    with log_context(publication_id=pub.pk, campaign_id=pub.campaign_id):
        ...

Keys in `CONTEXT_KEYS` are emitted as top-level JSON fields whenever present, from
`extra` first, then from the enclosing `log_context`. Any other `extra` key is emitted
too (under its own name) as long as it is JSON-serialisable; anything else is repr()'d
so a log call can never raise. Celery task ids and names are added automatically inside
a task (see config.ops.apps wiring in `install_celery_context`).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import json
import logging
import traceback
from collections.abc import Mapping
from types import MappingProxyType

CONTEXT_KEYS = (
    "campaign_id",
    "publication_id",
    "delivery_id",
    "subscriber_id",
    "channel_account_id",
    "task_id",
    "task_name",
    "request_id",
)

# Immutable default: every log_context() sets a new mapping, nothing mutates one in place.
_context: contextvars.ContextVar[Mapping] = contextvars.ContextVar(
    "ops_log_context", default=MappingProxyType({})
)

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


@contextlib.contextmanager
def log_context(**ids):
    """Attach ids to every log line emitted inside the block (nested blocks merge)."""
    token = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict:
    return dict(_context.get())


def _jsonable(value):
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: ts, level, logger, message, ids, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({k: _jsonable(v) for k, v in _context.get().items()})
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                payload[key] = _jsonable(value)
        if record.exc_info:
            payload["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
            payload["exc"] = "".join(traceback.format_exception(*record.exc_info))
        elif record.exc_text:
            payload["exc"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return json.dumps(payload, ensure_ascii=False, default=repr)


def install_celery_context() -> None:
    """Bind task_id / task_name (and a publication_id or campaign_id keyword argument,
    when a task has one) to every log line emitted while a Celery task runs."""
    from celery import signals

    tokens: dict[str, contextvars.Token] = {}

    @signals.task_prerun.connect(weak=False)
    def _bind(task_id=None, task=None, args=None, kwargs=None, **_):
        ids = {"task_id": task_id, "task_name": getattr(task, "name", None)}
        for key in ("publication_id", "campaign_id"):
            if kwargs and key in kwargs:
                ids[key] = kwargs[key]
        tokens[task_id] = _context.set({**_context.get(), **ids})

    @signals.task_postrun.connect(weak=False)
    def _unbind(task_id=None, **_):
        token = tokens.pop(task_id, None)
        if token is not None:
            with contextlib.suppress(ValueError):
                _context.reset(token)
