"""Who visits, without storing who: daily salts, visitor hashes, and the queue payload
of an event seen on a request (request_event, on the redirect's hot path).

A visitor is a salted hash of address and browser; the salt changes every UTC day and
is deleted after two (purge_old_salts), after which a hash can no longer be linked to
an address.
"""

import datetime
import hashlib
import os
import secrets
import time

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import classify
from .models import DailySalt

_SALTS: dict[datetime.date, str] = {}
# [start, end) of the UTC day last seen by event_day, as POSIX timestamps, and that day:
# the request path compares two floats instead of building a datetime per request.
_DAY_BOUNDS: tuple[float, float, datetime.date | None] = (0.0, 0.0, None)


def daily_salt(day: datetime.date) -> str:
    """The random salt of `day`, created on first use (process-cached)."""
    salt = _SALTS.get(day)
    if salt is None:
        try:
            with transaction.atomic():
                obj, _ = DailySalt.objects.get_or_create(
                    day=day, defaults={"salt": secrets.token_hex(32)}
                )
        except IntegrityError:
            obj = DailySalt.objects.get(day=day)
        salt = obj.salt
        if len(_SALTS) > 4:
            _SALTS.clear()
        _SALTS[day] = salt
    return salt


def daily_salt_cache_clear() -> None:
    """Forget the salts this process keeps: the next hash reads its day's salt from the
    database again. After purge_old_salts, and where the database was rolled back
    under the process (tests)."""
    _SALTS.clear()


def event_day(timestamp: float) -> datetime.date:
    """The UTC date of a POSIX timestamp (the day a visitor hash belongs to)."""
    global _DAY_BOUNDS
    start, end, day = _DAY_BOUNDS
    if not start <= timestamp < end:
        day = datetime.datetime.fromtimestamp(timestamp, datetime.UTC).date()
        start = datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp()
        _DAY_BOUNDS = (start, start + 86400, day)
    return day


def visitor_hash(ip: str, user_agent: str, day: datetime.date | None = None) -> str:
    """Salted daily hash of address and browser: counts unique visitors per day without
    storing the address. The salt is deleted after two days (purge_old_salts)."""
    day = day or timezone.now().date()
    digest = hashlib.sha256(f"{daily_salt(day)}|{ip}|{user_agent}".encode()).hexdigest()
    return digest[:32]


def purge_old_salts(keep_days: int = 2) -> int:
    cutoff = timezone.now().date() - datetime.timedelta(days=keep_days)
    deleted, _ = DailySalt.objects.filter(day__lt=cutoff).delete()
    daily_salt_cache_clear()
    return deleted


def request_event(request, kind: str, **fields) -> dict:
    """The queue payload for an event seen on `request` (no raw address kept)."""
    meta = request.META
    user_agent = meta.get("HTTP_USER_AGENT", "")[:300]
    now = time.time()
    # The three headers the classifier reads, straight from META: request.headers
    # would build a mapping of every header of the request just for them.
    headers = {
        "Sec-Purpose": meta.get("HTTP_SEC_PURPOSE"),
        "Purpose": meta.get("HTTP_PURPOSE"),
        "X-Moz": meta.get("HTTP_X_MOZ"),
    }
    payload = {
        # 128 random bits as 32 hex characters, like uuid4().hex at a quarter the cost.
        "u": os.urandom(16).hex(),
        "k": kind,
        "t": now,
        "a": user_agent,
        "v": visitor_hash(meta.get("REMOTE_ADDR", ""), user_agent, event_day(now)),
        "b": classify.bot_reason_for_request(user_agent, request.method, headers),
    }
    payload.update({k: v for k, v in fields.items() if v not in (None, "")})
    return payload
