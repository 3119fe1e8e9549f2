"""Production settings plus the benchmark's extra URLs (bench/redirect_urls.py)."""

import os

from config.settings.production import *  # noqa: F401,F403

ROOT_URLCONF = "bench.redirect_urls"
ANALYTICS_QUEUE_KEY = os.environ.get("ANALYTICS_QUEUE_KEY", "analytics:events")
