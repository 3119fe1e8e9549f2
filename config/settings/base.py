"""Settings shared by every environment, read from environment variables.

Development defaults need nothing installed system-wide: SQLite and kombu's filesystem
broker. Production sets DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis or
RabbitMQ); see README.md and .env.example.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import available_timezones

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-insecure-secret-key-change-me-in-production")
# Old secret keys after a rotation (sessions, signed links, erased addresses keep working).
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

# --- The one public address -----------------------------------------------------------
# BASE_URL is where people and mail reach this hub: every absolute URL we build (tracked
# links, "view in browser", notifications, the Wagtail Site that canonical, og:url, the
# sitemap and feeds read; `manage.py ensure_site` syncs it) starts with it. Without it,
# the address `make run` serves (WEB_HOST, WEB_PORT: the Procfile's runserver reads the
# same two variables), so `WEB_PORT=8100 make run` links to :8100 from every process.
WEB_HOST = env("WEB_HOST", default="127.0.0.1")
WEB_PORT = env.int("WEB_PORT", default=8000)
# A wildcard bind is not an address anyone can open: links name the loopback address.
_served_host = "127.0.0.1" if WEB_HOST in ("0.0.0.0", "::", "[::]") else WEB_HOST
SERVED_URL = f"http://{_served_host}:{WEB_PORT}"
BASE_URL = env("BASE_URL", default=SERVED_URL).rstrip("/")
_base = urlsplit(BASE_URL)
if _base.scheme not in ("http", "https") or not _base.hostname or _base.path not in ("", "/"):
    raise ImproperlyConfigured(
        f"BASE_URL must be http(s)://host[:port] with no path, got {BASE_URL!r}"
    )

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=list(dict.fromkeys(["127.0.0.1", "localhost", "testserver", _base.hostname])),
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Our apps first so their templates override Wagtail's where they need to.
    "content",
    "campaigns",
    "campaigns.audiences",
    "campaigns.leads",
    "campaigns.people",
    "campaigns.feedback",
    "campaigns.surveys",
    "channels",
    "channels.email",
    "channels.ezine",
    "analytics",
    "config.ops",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.sitemaps",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "social_django",
    "axes",
    "csp",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before XFrameOptionsMiddleware: frame-ancestors follows X-Frame-Options (config/security.py).
    "config.security.PolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # social_django's, with sign-in refusals in the reader's language (content/sso.py).
    "content.sso.SignInErrorMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last: turns a locked-out sign-in into the lockout page (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "wagtail.contrib.settings.context_processors.settings",
                "content.sso.sso_context",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Database -------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file in development: wait for locks
    # instead of failing, and take the write lock up front to avoid upgrade deadlocks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Redis --------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in (password or SSO) while its username and address are
    # locked out; it signs nobody in itself (see "Login throttling" below).
    "axes.backends.AxesStandaloneBackend",
    "social_core.backends.google.GoogleOAuth2",
    "social_core.backends.github.GithubOAuth2",
    "social_core.backends.open_id_connect.OpenIdConnectAuth",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "wagtailadmin_login"
LOGIN_REDIRECT_URL = "wagtailadmin_home"

# --- Single sign-on (python-social-auth) -----------------------------------------------
# Each provider is offered on the admin login page only when its keys are set.
SOCIAL_AUTH_GOOGLE_OAUTH2_KEY = env("SSO_GOOGLE_KEY", default="")
SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET = env("SSO_GOOGLE_SECRET", default="")
SOCIAL_AUTH_GITHUB_KEY = env("SSO_GITHUB_KEY", default="")
SOCIAL_AUTH_GITHUB_SECRET = env("SSO_GITHUB_SECRET", default="")
SOCIAL_AUTH_GITHUB_SCOPE = ["user:email"]
SOCIAL_AUTH_OIDC_OIDC_ENDPOINT = env("SSO_OIDC_ENDPOINT", default="")
SOCIAL_AUTH_OIDC_KEY = env("SSO_OIDC_KEY", default="")
SOCIAL_AUTH_OIDC_SECRET = env("SSO_OIDC_SECRET", default="")
SOCIAL_AUTH_OIDC_NAME = env("SSO_OIDC_NAME", default="OpenID Connect")
# Reddit app for *channel accounts* (posting), never for sign-in: see channels/forum/reddit_connect.py.
SOCIAL_AUTH_REDDIT_CHANNEL_KEY = env("REDDIT_CLIENT_ID", default="")
SOCIAL_AUTH_REDDIT_CHANNEL_SECRET = env("REDDIT_CLIENT_SECRET", default="")
SOCIAL_AUTH_JSONFIELD_ENABLED = True
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_LOGIN_REDIRECT_URL = "/admin/"
SOCIAL_AUTH_LOGIN_ERROR_URL = "/admin/login/"
SOCIAL_AUTH_RAISE_EXCEPTIONS = False
# Email domain -> group name. Only these domains may sign in through SSO.
# Example: SSO_DOMAIN_GROUPS=example.com=Marketers,press.example.com=Editors
SSO_DOMAIN_GROUPS = env.dict("SSO_DOMAIN_GROUPS", default={})
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "content.sso.require_allowed_domain",
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.social_auth.associate_by_email",
    "social_core.pipeline.user.create_user",
    "content.sso.grant_domain_group",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "social_core.pipeline.user.user_details",
)

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000  # Wagtail's page editor posts many fields.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Wagtail --------------------------------------------------------------------------
WAGTAIL_SITE_NAME = env("SITE_NAME", default="Campaign Hub")
WAGTAILADMIN_BASE_URL = BASE_URL
WAGTAIL_I18N_ENABLED = False
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_MODERATION_ENABLED = True
WAGTAIL_WORKFLOW_ENABLED = True
WAGTAILEMBEDS_RESPONSIVE_HTML = True
# Self-hosted: the admin calls no third party. Gravatar would send every user's address
# hash out (and, offline, fills the browser console with errors); the release check
# phones home from every admin page.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False
# Account > Locale offers every zone Python finds, and the admin's JavaScript names each
# through the browser's Intl, which refuses the two that are no IANA zones (Debian's
# "localtime" symlink, "Factory"): a console error on every visit to Account.
WAGTAIL_USER_TIME_ZONES = sorted(available_timezones() - {"localtime", "Factory"})
# Wagtail's own background work (search index updates, reference index) runs through
# Django's task framework. In-process and immediate by default so a save is never left
# half-indexed; production can switch to a queue-backed backend with WAGTAIL_TASKS_BACKEND.
TASKS = {
    "default": {
        "BACKEND": env(
            "WAGTAIL_TASKS_BACKEND", default="django_tasks.backends.immediate.ImmediateBackend"
        ),
    }
}

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
# Database sessions that freeze a large email audience at once, each a range of
# subscriber ids in its own transaction (channels.email.audience); about the cores
# PostgreSQL has.
EMAIL_FREEZE_SESSIONS = env.int("EMAIL_FREEZE_SESSIONS", default=2)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Campaign Hub <noreply@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers an unacked message after the visibility timeout. Every task's
    # time limit and retry backoff stays well below it, so nothing runs twice by timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Separate queues for sending vs publishing vs tracking (config/ops/queues.py); off in
# development so the one `make run` worker consumes everything.
if env.bool("CELERY_SPLIT_QUEUES", default=False):
    from config.ops.queues import TASK_ROUTES as CELERY_TASK_ROUTES  # noqa: F401

# --- The apps' own settings ---------------------------------------------------------------
# Every app setting is declared here once, with its default; code reads `settings.NAME`.

# campaigns: publishing attempts, back-off, the dispatcher and the sweeper.
CAMPAIGNS_PUBLISH_MAX_ATTEMPTS = env.int("CAMPAIGNS_PUBLISH_MAX_ATTEMPTS", default=5)
CAMPAIGNS_RETRY_BASE_SECONDS = env.int("CAMPAIGNS_RETRY_BASE_SECONDS", default=30)
CAMPAIGNS_RETRY_MAX_SECONDS = env.int("CAMPAIGNS_RETRY_MAX_SECONDS", default=900)
# Editing approved content withdraws its approval until a moderator approves it again.
CAMPAIGNS_EDIT_REQUIRES_REAPPROVAL = env.bool("CAMPAIGNS_EDIT_REQUIRES_REAPPROVAL", default=True)
CAMPAIGNS_DISPATCH_BATCH = env.int("CAMPAIGNS_DISPATCH_BATCH", default=500)
CAMPAIGNS_STUCK_QUEUED_SECONDS = env.int("CAMPAIGNS_STUCK_QUEUED_SECONDS", default=300)
# A publication still "publishing" after the task's hard time limit has lost its worker.
CAMPAIGNS_STUCK_PUBLISHING_SECONDS = env.int(
    "CAMPAIGNS_STUCK_PUBLISHING_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60
)

# analytics: the click-event queue in Redis and the request path that feeds it.
# The queue lives in ANALYTICS_REDIS_URL, or REDIS_URL when that is empty.
ANALYTICS_REDIS_URL = env("ANALYTICS_REDIS_URL", default="")
ANALYTICS_QUEUE_KEY = env("ANALYTICS_QUEUE_KEY", default="analytics:events")
# Tracked clicks are written to Redis before the 302 and confirmed in batches after it
# (analytics.pusher.EventPusher): every N clicks or M milliseconds (at most 150),
# whichever comes first.
ANALYTICS_PUSH_BATCH = env.int("ANALYTICS_PUSH_BATCH", default=16)
ANALYTICS_PUSH_MAX_WAIT_MS = env.int("ANALYTICS_PUSH_MAX_WAIT_MS", default=50)
# Tracked links a web process keeps in memory (about 0.4 kB each: ~40 MB at the default).
ANALYTICS_LINK_CACHE_SIZE = env.int("ANALYTICS_LINK_CACHE_SIZE", default=100_000)
# Rollups count an event only once it is this old: scanner clicks are re-flagged for 30 s
# after they arrive (analytics' REFLAG_WINDOW_SECONDS), so the default is twice that.
ANALYTICS_ROLLUP_LAG_SECONDS = env.int("ANALYTICS_ROLLUP_LAG_SECONDS", default=60)
# Goals and attribution (analytics.conversions, analytics.attribution): a conversion is
# linked to the campaign's human clicks of this many days before it; a goal's currency
# unless it names one.
ANALYTICS_ATTRIBUTION_WINDOW_DAYS = env.int("ANALYTICS_ATTRIBUTION_WINDOW_DAYS", default=30)
# Surveys: how many days after its email went out a recipient may still answer a survey
# (after that the link has expired).
SURVEYS_ANSWER_DAYS = env.int("SURVEYS_ANSWER_DAYS", default=30)
ANALYTICS_CURRENCY = env("ANALYTICS_CURRENCY", default="CNY")

# ops: each Celery worker writes a heartbeat row this often (config/ops/heartbeat.py); the
# operations page counts a worker live while its row is younger than three of these.
OPS_WORKER_HEARTBEAT_SECONDS = env.int("OPS_WORKER_HEARTBEAT_SECONDS", default=10)
# audiences: the public forms and the CSV import.
# One confirmation email per address per period, however often the form is posted.
AUDIENCES_CONFIRMATION_PERIOD_SECONDS = env.int(
    "AUDIENCES_CONFIRMATION_PERIOD_SECONDS", default=24 * 3600
)
# Posts per client (hashed IP) per window to each public form (subscribe, preferences;
# never the one-click unsubscribe), counted in the shared cache.
AUDIENCES_FORM_LIMIT = env.int("AUDIENCES_FORM_LIMIT", default=20)
AUDIENCES_FORM_LIMIT_WINDOW_SECONDS = env.int("AUDIENCES_FORM_LIMIT_WINDOW_SECONDS", default=600)
# Reverse proxies in front of Django that append the client's address to
# X-Forwarded-For (1 behind the compose file's nginx, 2 with a load balancer in front of
# it). 0: the client is REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# A CSV import still checking or importing this long after its step began lost its
# worker (the hard time limit is far shorter) and is marked failed.
AUDIENCES_IMPORT_STALE_SECONDS = env.int(
    "AUDIENCES_IMPORT_STALE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 300
)
# Feedback inbox: the group whose members hear of an overdue case (content/roles.py
# creates "Service managers").
FEEDBACK_ESCALATION_GROUP = env.str("FEEDBACK_ESCALATION_GROUP", default="Service managers")
# The key of the hash an erased person's address is kept as on the suppression list
# (HMAC-SHA256; campaigns/audiences/erased.py). Dedicated, so a database dump alone
# cannot test guessed addresses against it; set it once and never change it (erased
# addresses hashed with an old key would be mailable again). Empty: derived from
# SECRET_KEY (development only; addresses are then also tested under each
# SECRET_KEY_FALLBACKS entry, and `check --deploy` warns, audiences.W001).
AUDIENCES_ERASURE_KEY = env("AUDIENCES_ERASURE_KEY", default="")

# --- The periodic schedule -----------------------------------------------------------------
# The one beat schedule, in one table. A tick that waited in the queue past its `expires`
# is dropped: the next one does the same work.
CELERY_BEAT_SCHEDULE = {
    # The dispatcher claims due publications every second; the sweeper recovers rows a
    # crash left behind.
    "campaigns-dispatch": {
        "task": "campaigns.dispatch_due_publications",
        "schedule": 1.0,
        "options": {"expires": 5},
    },
    "campaigns-sweep": {
        "task": "campaigns.sweep_stuck_publications",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    # Search Console and Baidu Tongji queries per page (analytics connections): each run
    # re-reads the connection's backfill window, so four a day keep late days current.
    "analytics-import-search-queries": {
        "task": "analytics.tasks.import_search_queries",
        "schedule": 6 * 3600.0,
        "options": {"expires": 3600},
    },
    # Draining often keeps Redis small; rollups lag a minute by design, so every 30 s is
    # plenty.
    "analytics-drain-event-queue": {
        "task": "analytics.tasks.drain_event_queue",
        "schedule": 2.0,
        "options": {"expires": 10},
    },
    "analytics-update-rollups": {
        "task": "analytics.tasks.update_rollups",
        "schedule": 30.0,
        "options": {"expires": 60},
    },
    "analytics-purge-old-salts": {
        "task": "analytics.tasks.purge_old_salts",
        "schedule": 3600.0,
    },
    # Feeds update within minutes.
    "channels-verify-published-posts": {
        "task": "channels.tasks.verify_published_posts",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # Email batches chain themselves; the pump only restarts a send whose chain died.
    "email-pump-sends": {
        "task": "channels.email.tasks.pump_email_sends",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # A CSV import whose worker vanished is failed with the reason, never left running.
    "audiences-sweep-stale-imports": {
        "task": "campaigns.audiences.tasks.sweep_stale_imports",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # The mailing-list index shows member counts taken here (counting a list of
    # millions takes seconds: never per page view).
    "audiences-refresh-list-counts": {
        "task": "campaigns.audiences.tasks.refresh_list_counts",
        "schedule": 600.0,
        "options": {"expires": 540},
    },
    # Overdue feedback cases escalate to the managers' group, each exactly once.
    "feedback-escalate-overdue": {
        "task": "campaigns.feedback.tasks.escalate_overdue_cases",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "ezine-run-due": {
        "task": "channels.ezine.tasks.run_due_ezines",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
}

# --- Security -------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"  # Wagtail sets SAMEORIGIN on its own preview views.
# Fernet keys (comma separated, newest first) for secrets at rest. Rotate by putting a
# new key first and running `manage.py rotate_secrets`.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=["2lYk8r3pY1d7K3Gf8tHuEo5zr9V7bXq0Lw0eBfNf8xg="]
)
# Hub pages and tracked links are served from this base URL (BASE_URL, above).
SITE_BASE_URL = BASE_URL
# Outbound HTTP (channels.http: every adapter, feed and fetch): the timeout of each
# phase (connect, each read or write), the wall clock of a whole request (redirects and
# reading the answer included) and the most an answer may hold once decoded.
OUTBOUND_HTTP_TIMEOUT = env.float("OUTBOUND_HTTP_TIMEOUT", default=15.0)
OUTBOUND_HTTP_DEADLINE = env.float("OUTBOUND_HTTP_DEADLINE", default=60.0)
OUTBOUND_HTTP_MAX_BYTES = env.int("OUTBOUND_HTTP_MAX_BYTES", default=10 * 1024 * 1024)

# Login throttling (django-axes, database handler: every web process sees the same
# count). After AXES_FAILURE_LIMIT wrong passwords for one username from one address,
# that pair is locked for AXES_COOLOFF_MINUTES, even with the right password; another
# address, or another username from the same address, is not. A successful sign-in
# before the limit clears the count. `manage.py axes_reset` (or axes_reset_username)
# unlocks early. The address is REMOTE_ADDR; behind proxies, TRUSTED_PROXY_COUNT (the
# same count the public forms' limit reads) says how many of them append to
# X-Forwarded-For (never trusted otherwise: a client could name a new address on every
# guess).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.security.lockout_response"
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)

# Content-Security-Policy (django-csp; config/security.py picks the admin's directives
# and frame-ancestors). Enforced, not report-only. Public pages, emails' web versions and
# the subscribe form: scripts only from our origin or with the response's nonce
# (`request.csp_nonce`), no plugins, no <base>, forms post only to us. Styles allow
# inline: an email's web version is styled by attributes, as mail must be.
_origins = list(dict.fromkeys(["'self'", f"{_base.scheme}://{_base.netloc}"]))
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": [*_origins, NONCE],
        "style-src": [*_origins, "'unsafe-inline'"],
        # Pictures may come from a media host or an embed's thumbnail; they run no code.
        "img-src": [*_origins, "data:", "https:"],
        "font-src": [*_origins, "data:"],
        "connect-src": _origins,
        # Embedded videos and posts (wagtail.embeds) are https iframes.
        "frame-src": ["'self'", "https:"],
        "media-src": [*_origins, "https:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": _origins,
    },
}
# The Wagtail admin: the same, except that its scripts run inline. Wagtail 8 still writes
# inline <script> into date and time widgets and inline panels, and re-runs the scripts in
# HTML it fetches (modals, "add child" forms), where a per-response nonce cannot match; so
# 'unsafe-inline' and no nonce here (a nonce would switch 'unsafe-inline' off). No
# 'unsafe-eval': neither Wagtail nor the dashboards' ECharts needs it.
CSP_ADMIN_DIRECTIVES = {
    "script-src": [*_origins, "'unsafe-inline'"],
    "img-src": [*_origins, "data:", "blob:", "https:"],
    "worker-src": ["'self'", "blob:"],
}
# frame-ancestors of the views meant to be embedded elsewhere (the subscribe form):
# "*" for any site, or the list of sites that may frame it.
CSP_EMBED_FRAME_ANCESTORS = env.list("CSP_EMBED_FRAME_ANCESTORS", default=["*"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Wagtail and the task framework log every page action and task at INFO.
    "loggers": {
        "wagtail": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        "modelsearch": {"level": "WARNING"},
        # Axes logs every failed sign-in at INFO; repeated failures and lockouts are WARNING.
        "axes": {"level": "WARNING"},
    },
}
# LOG_FORMAT=json: one JSON object per line with campaign/publication ids (config/ops/logging.py).
if env("LOG_FORMAT", default="text") == "json":
    LOGGING["formatters"] = {"json": {"()": "config.ops.logging.JsonFormatter"}}
    LOGGING["handlers"]["console"]["formatter"] = "json"
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep our formatter in workers too
