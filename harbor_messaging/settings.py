"""Settings for Harbor Messaging, read from the environment in this one place.

With no variables set it runs on embedded defaults: SQLite and local files under
``HARBOR_DATA_DIR``, in-process events and cache, no malware scanning.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from gripcontrol import parse_grip_uri

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "harbor-dev-insecure-key-never-use-in-production"


def _yes_no(value: str) -> bool | None:
    """True or False for the ways of writing yes and no, None for anything else."""
    value = value.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    return None


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    flag = _yes_no(raw)
    if flag is None:
        raise ImproperlyConfigured(f"{name} must be 1 or 0, not {raw!r}")
    return flag


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _database_from_url(url: str, data_dir: Path) -> dict[str, Any]:
    """Turn ``sqlite:///path`` or ``postgres://user:pw@host:port/db`` into a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as dj-database-url reads them.
        raw_path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        name = Path(raw_path) if raw_path else data_dir / "harbor.sqlite3"
        if not name.is_absolute():
            name = BASE_DIR / name
        return {
            "ENGINE": "harbor_messaging.sqlite_pool",
            "NAME": str(name),
            # WAL lets the page read while a send writes, and a live server share the file.
            # Checkpoints run in a thread (sqlite_wal.py); a commit takes one only past
            # 10,000 pages (40 MB) of log, and each connection caches 16 MB of pages: a
            # whole-tenant send touches a page of every member's inbox indexes.
            "OPTIONS": {
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                    " PRAGMA wal_autocheckpoint=10000; PRAGMA cache_size=-16384;"
                ),
                "transaction_mode": "IMMEDIATE",
            },
            "TEST": {"NAME": str(name.with_name("test_" + name.name))},
        }
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        options: dict[str, Any] = dict(parse_qsl(parts.query))
        conn_max_age = int(options.pop("conn_max_age", "0"))
        pool = options.pop("pool", "0").lower()
        # ?pool=yes (or 1) is a pool of 20, ?pool=N one of N, ?pool=no (or 0) none.
        pool_flag = _yes_no(pool)
        if pool_flag is not None:
            size = 20 if pool_flag else 0
        else:
            size = int(pool) if pool.isdigit() else -1
        if size < 0:
            raise ImproperlyConfigured(f"DATABASE_URL: pool={pool!r} is not a number or a yes/no")
        if size:
            # Under ASGI each request's sync code runs in a thread of its own, so
            # conn_max_age cannot keep connections: without a pool every request opens one
            # (~2.5 ms and a server process forked on loopback). ?pool=N keeps up to N.
            if conn_max_age:
                raise ImproperlyConfigured("DATABASE_URL: pool and conn_max_age exclude each other")
            options["pool"] = {"min_size": min(4, size), "max_size": size, "timeout": 10}
        # Parameters bound by the server, and a statement prepared once it ran this many
        # times on a connection: a send's statements are then planned once per pooled
        # connection, not per send (PostgreSQL's CPU a send 1.4-1.7 -> 0.85-1.0 ms,
        # docs/performance.md). Behind PgBouncer in transaction mode: ?prepare_threshold=off.
        binding = _yes_no(options.get("server_side_binding", "on"))
        if binding is None:
            raise ImproperlyConfigured(
                f"DATABASE_URL: server_side_binding={options['server_side_binding']!r} "
                "is not a yes or a no"
            )
        options["server_side_binding"] = binding
        threshold = options.get("prepare_threshold", "5").lower()
        if threshold in {"off", "none", "no"}:
            options["prepare_threshold"] = None
        elif threshold.isdigit():
            options["prepare_threshold"] = int(threshold)
        else:
            raise ImproperlyConfigured(
                f"DATABASE_URL: prepare_threshold={threshold!r} is not a number or off"
            )
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": conn_max_age,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


DEBUG = _env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(set DJANGO_DEBUG=1 to run on the development key)"
        )
    SECRET_KEY = DEV_SECRET_KEY
elif SECRET_KEY == DEV_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured("The development secret key is refused when DJANGO_DEBUG is off")

ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")

HARBOR_DATA_DIR = Path(os.environ.get("HARBOR_DATA_DIR", "") or BASE_DIR / "var")
if not HARBOR_DATA_DIR.is_absolute():
    HARBOR_DATA_DIR = (BASE_DIR / HARBOR_DATA_DIR).resolve()
HARBOR_DATA_DIR.mkdir(parents=True, exist_ok=True)

DATABASES = {
    "default": _database_from_url(
        os.environ.get("DATABASE_URL", "") or f"sqlite:///{HARBOR_DATA_DIR / 'harbor.sqlite3'}",
        HARBOR_DATA_DIR,
    )
}

REDIS_URL = os.environ.get("REDIS_URL", "")


def _grip_proxies(value: str) -> list[dict[str, Any]]:
    """GRIP_URL: one Pushpin's publish URL, or several comma-separated (every Pushpin in
    front must get every event: messaging/grip.py publishes to each)."""
    proxies = [parse_grip_uri(url.strip()) for url in value.split(",") if url.strip()]
    if any("key" not in proxy for proxy in proxies):
        # django-grip would then count any request carrying a Grip-Sig header as Pushpin's.
        raise ImproperlyConfigured("GRIP_URL: every Pushpin URL needs its sig_key (?key=...)")
    return proxies


# django-grip reads GRIP_PROXIES. (A GRIP_URL setting it would append to that list again
# on every request it checks.)
GRIP_PROXIES = _grip_proxies(os.environ.get("GRIP_URL", ""))
HARBOR_GRIP_URLS = [proxy["control_uri"] for proxy in GRIP_PROXIES]

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "harbor_messaging.redis_cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("HARBOR_REDIS_PREFIX", "harbor"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "harbor_messaging.tenants",
    "messaging",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "harbor_messaging.api.ApiErrorMiddleware",
]

ROOT_URLCONF = "harbor_messaging.urls"
ASGI_APPLICATION = "harbor_messaging.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "harbor_messaging.tenants.context_processors.harbor",
                "messaging.context_processors.unread_badge",
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LOGIN_URL = "/accounts/login/"
# A URL name, so the login lands in the language the user chose.
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "/accounts/login/"
CSRF_FAILURE_VIEW = "harbor_messaging.api.csrf_failure"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = HARBOR_DATA_DIR / "static"
MEDIA_ROOT = HARBOR_DATA_DIR / "media"
MEDIA_URL = "/media/"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# JSON bodies are small; anything larger is answered 413 before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = _env_bool("HARBOR_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Where messaging's notify_* step hands its events: stored with the change, then streamed.
HARBOR_EVENT_PUBLISHER = os.environ.get(
    "HARBOR_EVENT_PUBLISHER", "messaging.publishers.eventstream.StreamPublisher"
)
# Keys and pub/sub channels in a shared Redis start with this.
HARBOR_REDIS_PREFIX = os.environ.get("HARBOR_REDIS_PREFIX", "harbor")
# Open streams one user may hold in one server process, and stream opens per minute.
HARBOR_STREAMS_PER_USER = int(os.environ.get("HARBOR_STREAMS_PER_USER", "10"))
HARBOR_STREAM_OPENS_PER_MINUTE = int(os.environ.get("HARBOR_STREAM_OPENS_PER_MINUTE", "60"))
# An idle stream gets a keep-alive (an SSE comment and an event) this often (API.md: at
# least every 20 s), directly and through Pushpin; a page's stream silent for three of
# these periods reconnects.
HARBOR_STREAM_KEEPALIVE_SECONDS = float(os.environ.get("HARBOR_STREAM_KEEPALIVE_SECONDS", "15"))
# A live event for at least _FROM direct streams is sent by the event loop's thread and this
# many sender threads side by side (harbor_messaging/twisted_write.py): the sends' system
# calls, most of a fan-out's time, then run on more than one core. 0 (the default): the
# loop sends all; with a Daphne per core a sender thread takes the other process's core,
# and at 10,000 streams on two Daphnes one each cut deliveries a second by a sixth
# (docs/performance.md, "Every process its own streams at once").
HARBOR_STREAM_SEND_THREADS = int(os.environ.get("HARBOR_STREAM_SEND_THREADS", "0"))
HARBOR_STREAM_SEND_THREADS_FROM = int(os.environ.get("HARBOR_STREAM_SEND_THREADS_FROM", "64"))
# Behind the kick a removal sends, every open stream's access is re-checked this often: one
# query per tenant for all of a process's streams, and streams whose user may no longer
# read the tenant end with a stream-error.
HARBOR_STREAM_RECHECK_SECONDS = float(os.environ.get("HARBOR_STREAM_RECHECK_SECONDS", "30"))
# Open streams' objects are frozen out of the garbage collector's full collections after a
# burst of opens, and everything is unfrozen and collected this often (gcwatch.py): with
# thousands of open streams Python's own schedule paused for a second every few seconds.
# 0 turns that off.
HARBOR_GC_FULL_SECONDS = float(os.environ.get("HARBOR_GC_FULL_SECONDS", "600"))
# On SQLite, each process checkpoints the WAL in a thread of its own this often (when
# anything was written), so a send's commit does not (sqlite_wal.py). 0 leaves checkpoints
# to the commits.
HARBOR_SQLITE_CHECKPOINT_SECONDS = float(os.environ.get("HARBOR_SQLITE_CHECKPOINT_SECONDS", "0.1"))
# Through Pushpin: each held stream re-fetches its next link (and so is checked again)
# once in [this, twice this) seconds, spread so Pushpin's ten-a-second queue stays short.
HARBOR_GRIP_REFRESH_SECONDS = int(os.environ.get("HARBOR_GRIP_REFRESH_SECONDS", "3600"))

EVENTSTREAM_STORAGE_CLASS = "messaging.stream_storage.HarborEventStorage"
EVENTSTREAM_CHANNELMANAGER_CLASS = "messaging.channels.HarborChannelManager"
if HARBOR_GRIP_URLS:
    MIDDLEWARE.insert(0, "django_grip.GripMiddleware")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HARBOR_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- Media library and attachments (harbor_messaging.media, attachments) -------------------
# Files go through Django's storage API: local files under HARBOR_DATA_DIR/media by default,
# an S3 API (Cloudflare R2: region "auto", SigV4) when S3_BUCKET is set.
INSTALLED_APPS += ["harbor_messaging.media", "attachments"]

S3_BUCKET = os.environ.get("S3_BUCKET", "")
if S3_BUCKET:
    from boto3.s3.transfer import TransferConfig

    _media_storage: dict[str, Any] = {
        "BACKEND": "harbor_messaging.media.s3.SharedSessionS3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL", "") or None,
            "access_key": os.environ.get("S3_ACCESS_KEY_ID", "") or None,
            "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY", "") or None,
            "region_name": os.environ.get("S3_REGION", "") or None,
            "signature_version": "s3v4",
            "addressing_style": "path",
            "default_acl": None,
            "file_overwrite": False,
            # Downloads are redirects to signed URLs that live this long.
            "querystring_auth": True,
            "querystring_expire": int(os.environ.get("HARBOR_MEDIA_URL_SECONDS", "300")),
            # Multipart parts of 8 MiB sent one after another in the request's thread:
            # boto3's default (ten threads, ten parts in memory, fresh threads per upload)
            # grew the server by 70-110 MiB per upload (measured in bench/uploads.py).
            "transfer_config": TransferConfig(
                multipart_threshold=8 * 1024 * 1024,
                multipart_chunksize=8 * 1024 * 1024,
                use_threads=False,
            ),
        },
    }
else:
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# host:port or a unix socket path; unset means no malware scan (and files say so).
CLAMD_ADDRESS = os.environ.get("CLAMD_ADDRESS", "")
HARBOR_MALWARE_SCANNER = os.environ.get(
    "HARBOR_MALWARE_SCANNER",
    "harbor_messaging.media.scanners.clamd.ClamdScanner"
    if CLAMD_ADDRESS
    else "harbor_messaging.media.scanners.off.NoScanner",
)
HARBOR_CLAMD_TIMEOUT_SECONDS = float(os.environ.get("HARBOR_CLAMD_TIMEOUT_SECONDS", "60"))
# The size limit when a global admin has set none in the admin (25 MiB).
HARBOR_MEDIA_DEFAULT_MAX_FILE_SIZE = 25 * 1024 * 1024
# The most a tenant admin may set for their tenant (a global admin sets any in the admin).
HARBOR_MEDIA_MAX_FILE_SIZE_CAP = int(os.environ.get("HARBOR_MEDIA_MAX_FILE_SIZE_CAP", str(1024**3)))
# Images with more pixels than this are refused as decompression bombs.
HARBOR_MEDIA_MAX_IMAGE_PIXELS = int(os.environ.get("HARBOR_MEDIA_MAX_IMAGE_PIXELS", "50000000"))
HARBOR_UPLOAD_MAX_FILES = 20
# cleanup --uploads removes desktop uploads never attached after this many hours.
HARBOR_UPLOAD_GRACE_HOURS = float(os.environ.get("HARBOR_UPLOAD_GRACE_HOURS", "24"))
# --- end of media library and attachments ---------------------------------------------------

# --- Link previews (linkpreview app) ---------------------------------------------------------
# Previews are fetched off the request path through linkpreview.backends (the SSRF guard).
INSTALLED_APPS.append("linkpreview")
LINKPREVIEW_ENABLED = _env_bool("LINKPREVIEW_ENABLED", True)
LINKPREVIEW_FETCHER = os.environ.get(
    "LINKPREVIEW_FETCHER", "linkpreview.backends.safe_requests.SafeFetcher"
)
# CIDRs previews may fetch from although they are not public: for tests only.
LINKPREVIEW_ALLOW_NETWORKS = _env_list("LINKPREVIEW_ALLOW_NETWORKS", "")
LINKPREVIEW_PORTS = [int(p) for p in _env_list("LINKPREVIEW_PORTS", "80,443")]
LINKPREVIEW_TIMEOUT_SECONDS = float(os.environ.get("LINKPREVIEW_TIMEOUT_SECONDS", "10"))
LINKPREVIEW_MAX_BYTES = int(os.environ.get("LINKPREVIEW_MAX_BYTES", str(2 * 1024 * 1024)))
LINKPREVIEW_MAX_REDIRECTS = 5
LINKPREVIEW_USER_AGENT = os.environ.get(
    "LINKPREVIEW_USER_AGENT",
    "HarborMessaging-LinkPreview/1.0 (link previews for messages; one fetch per link a day)",
)
# A fetched preview is kept a day; a failure a few minutes, then tried again when asked.
LINKPREVIEW_CACHE_SECONDS = int(os.environ.get("LINKPREVIEW_CACHE_SECONDS", "86400"))
LINKPREVIEW_FAILURE_SECONDS = int(os.environ.get("LINKPREVIEW_FAILURE_SECONDS", "600"))
# "thread": a worker thread in each server process, started on the first queued fetch;
# "off": only `manage.py linkpreview_worker` fetches (its own process, as in production).
LINKPREVIEW_WORKER = os.environ.get("LINKPREVIEW_WORKER", "thread")
# --- end of link previews --------------------------------------------------------------------

# --- Rate limits and hardening (harbor_messaging.ratelimit, harbor_messaging.security) -------
# Fixed-window budgets counted in the cache (shared through Redis when REDIS_URL is set):
# {action: {scope: (requests, seconds)}}. Each can be overridden from the environment as
# HARBOR_RATE_<ACTION>_<SCOPE>="requests/seconds", e.g. HARBOR_RATE_SEND_USER=30/60.
HARBOR_RATE_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    "send": {"user": (60, 60), "ip": (300, 60), "tenant": (1200, 60)},
    "upload": {"user": (60, 60), "ip": (300, 60), "tenant": (600, 60)},
    # The link endpoints: processing a draft's links, a preview, refreshing and removing.
    "links": {"user": (120, 60), "ip": (600, 60)},
    "link_preview": {"user": (120, 60)},
    "link_refresh": {"user": (20, 60)},
    "link_remove": {"user": (60, 60)},
    # A page load opens one stream; a reconnect storm from one office is what "ip" bounds.
    "stream": {
        "user": (HARBOR_STREAM_OPENS_PER_MINUTE, 60),
        "ip": (600, 60),
        "tenant": (3000, 60),
    },
    # Failed logins: per username against guessing one account, per IP against spraying.
    "login": {"username": (5, 300), "ip": (30, 300)},
}
for _action, _scopes in HARBOR_RATE_LIMITS.items():
    for _scope in list(_scopes):
        _raw = os.environ.get(f"HARBOR_RATE_{_action.upper()}_{_scope.upper()}", "")
        if _raw:
            _count, _, _seconds = _raw.partition("/")
            _scopes[_scope] = (int(_count), int(_seconds or "60"))
HARBOR_RATE_LIMIT_PREFIX = os.environ.get("HARBOR_RATE_LIMIT_PREFIX", "rl")

# Every response carries a strict Content-Security-Policy (no inline script, no framing).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "harbor_messaging.security.ContentSecurityPolicyMiddleware",
)
# Origins images and downloads may come from besides this site: the S3 endpoint, whose
# signed URLs a download or thumbnail redirects to.
HARBOR_CSP_MEDIA_ORIGINS = _env_list(
    "HARBOR_CSP_MEDIA_ORIGINS", os.environ.get("S3_ENDPOINT_URL", "")
)
if not DEBUG:
    # HTTPS only: HSTS (sent on HTTPS responses), and plain HTTP redirected, unless
    # HARBOR_SECURE_COOKIES=0 says this deployment is served over plain HTTP (tests, a LAN).
    SECURE_HSTS_SECONDS = int(os.environ.get("HARBOR_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("HARBOR_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("HARBOR_HSTS_PRELOAD", True)
    SECURE_SSL_REDIRECT = _env_bool("HARBOR_SSL_REDIRECT", SESSION_COOKIE_SECURE)
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips the client's).
    if _env_bool("HARBOR_TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# --- end of rate limits and hardening ---------------------------------------------------------
