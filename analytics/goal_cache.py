"""The goals a web process knows, kept for a minute: which key names which external goal
(the pixel), and per campaign with an active external goal, the hosts of the company's
site whose links carry the click id (the redirect). Apart from analytics.conversions so
that the goal admin, loaded in every process, does not bring the event pusher with it.
"""

import threading
import time
from urllib.parse import urlsplit

from .models import Goal

# Per process, refreshed every CACHE_SECONDS: goal key -> goal id (active external goals), and
# per campaign with an active external goal, the hosts of the company's site.
CACHE_SECONDS = 60
_cache_lock = threading.Lock()
_cache: dict = {"at": 0.0, "keys": {}, "external_campaigns": {}}


def goals_cache() -> dict:
    with _cache_lock:
        if time.monotonic() - _cache["at"] > CACHE_SECONDS:
            rows = Goal.objects.filter(active=True).values_list(
                "pk", "key", "kind", "campaign_id", "site_hosts"
            )
            keys, campaigns = {}, {}
            for pk, key, kind, campaign_id, hosts in rows:
                # Only external goals answer the public pixel: a form or page goal
                # converts on its own path (a pixel left on a shop after its goal
                # changed kind, or a guessed order id, must not convert it).
                if kind == Goal.Kind.EXTERNAL:
                    keys[key] = pk
                    campaigns.setdefault(campaign_id, set()).update(site_hosts(hosts))
            _cache.update(at=time.monotonic(), keys=keys, external_campaigns=campaigns)
        return _cache


def forget_goals() -> None:
    """Read the goals afresh on the next request (after a goal is saved, in tests)."""
    with _cache_lock:
        _cache["at"] = 0.0


def any_external_goal() -> bool:
    """Whether any campaign has an active external goal (else no click carries its id)."""
    return bool(goals_cache()["external_campaigns"])


def ascii_host(host: str) -> str:
    """A host name as compared: lower case, an internationalised name in its IDNA form
    (例子.中国 and xn--fsqu00a.xn--fiqs8s are the same site); "" when it is not one."""
    host = host.strip().strip(".").lower()
    try:
        return host.encode("idna").decode("ascii") if host else ""
    except UnicodeError:
        return ""


def site_hosts(text: str) -> set[str]:
    """A goal's `site_hosts` (separated by spaces or commas) as compared."""
    return {h for h in map(ascii_host, text.replace(",", " ").split()) if h}


def carries_click_id(campaign_id: int, destination: str) -> bool:
    hosts = goals_cache()["external_campaigns"].get(campaign_id) if campaign_id else None
    if not hosts:
        return False
    try:
        host = ascii_host(urlsplit(destination).hostname or "")
    except ValueError:
        return False
    return bool(host) and any(host == h or host.endswith("." + h) for h in hosts)
