"""Django settings, read from the environment.

Defaults give a working single-machine platform (SQLite in ``var/``); production sets
``DATABASE_URL`` (PostgreSQL), ``REDIS_URL``, storage and hosts through the environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent.parent


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("GOVDATA_DATA_DIR") or CHECKOUT_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The key from the environment, else one generated once and kept in the data dir."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    # django-ninja's own copy of Swagger UI for the API docs: without the app, the docs page
    # loads it from a CDN, which the extranet cannot reach.
    "ninja",
    "huey.contrib.djhuey",
    "govdata.common",
    "govdata.orgs",
    "govdata.workdays",
    "govdata.audit",
    "govdata.notifications",
    "govdata.catalog",
    "govdata.datastore",
    "govdata.sharing",
    "govdata.opendata",
    "govdata.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "govdata.urls"
WSGI_APPLICATION = "govdata.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "govdata.web.context_processors.navigation",
            ],
        },
    },
]

# Each server thread keeps its connection for DB_CONN_MAX_AGE seconds (0: one per request):
# opening a PostgreSQL connection costs more than a gateway call's every query together. A
# reused connection is checked before a request's first query, so a restarted database fails
# no request: on PostgreSQL by polling its socket for the server's goodbye instead of Django's
# ``SELECT 1`` round trip (``common/postgresql/base.py`` says why that suffices); nothing to
# check on SQLite.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'govdata.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "govdata.common.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: a write transaction takes the lock when it begins, so concurrent writers
        # queue on the busy timeout instead of failing on a lock upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    # Tests use a file (not shared memory) so threads and subprocesses see real WAL locking.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-govdata.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Lockout policy (orgs.services.authenticate): failures within the window lock the account.
LOGIN_MAX_FAILURES = int(os.environ.get("GOVDATA_LOGIN_MAX_FAILURES", "5"))
LOGIN_LOCK_MINUTES = int(os.environ.get("GOVDATA_LOGIN_LOCK_MINUTES", "15"))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
SESSION_COOKIE_SECURE = _env_bool("GOVDATA_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
NODE_MODULES = Path(os.environ.get("GOVDATA_NODE_MODULES") or CHECKOUT_DIR / "node_modules")
# Front-end packages are installed from npm at setup time and served by us (no CDN: ).
STATICFILES_DIRS = [
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "media"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # Uploaded catalog workbooks and their marked copies, read by the job consumers: a folder
    # every web server and worker shares (or S3-compatible storage) when they are several hosts.
    "imports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "imports"}},
}
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "govdata@localhost")

REDIS_URL = os.environ.get("REDIS_URL", "")

# Background jobs (huey): Redis in production, an SQLite file in the data dir otherwise. The
# consumer is `govdata worker` (`govdata serve` starts one beside the web server). Immediate
# mode runs each task synchronously in the enqueuing process (the tests use it).
HUEY = {
    "name": "govdata",
    "huey_class": "huey.RedisHuey" if REDIS_URL else "huey.SqliteHuey",
    "immediate": _env_bool("GOVDATA_TASKS_IMMEDIATE"),
    **({"url": REDIS_URL} if REDIS_URL else {"filename": str(DATA_DIR / "tasks.sqlite3")}),
    "consumer": {"workers": int(os.environ.get("GOVDATA_TASK_WORKERS", "1")), "worker_type": "thread"},
}

# Shared between processes (web servers and job consumers): job progress lives here.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(DATA_DIR / "cache")}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
CATALOG_IMPORT_MAX_BYTES = int(os.environ.get("GOVDATA_CATALOG_IMPORT_MAX_BYTES", str(20_000_000)))

# File resources: size limits in bytes. One limit for every file
# (GOVDATA_MAX_FILE_BYTES) and per-category overrides from GOVDATA_MAX_FILE_BYTES_<CATEGORY>
# for DOCUMENT, SPREADSHEET, IMAGE, AUDIO, VIDEO, ARCHIVE (video defaults higher).
FILE_MAX_BYTES = int(os.environ.get("GOVDATA_MAX_FILE_BYTES", str(200 * 1024 * 1024)))
FILE_MAX_BYTES_BY_CATEGORY = {
    "video": 2 * 1024 * 1024 * 1024,
    **{
        category: int(os.environ[f"GOVDATA_MAX_FILE_BYTES_{category.upper()}"])
        for category in ("document", "spreadsheet", "image", "audio", "video", "archive")
        if os.environ.get(f"GOVDATA_MAX_FILE_BYTES_{category.upper()}")
    },
}
# Upper-level data: the largest file an HTTP feed may download.
FEED_MAX_BYTES = int(os.environ.get("GOVDATA_FEED_MAX_BYTES", str(2 * 1024 * 1024 * 1024)))

# Table loads (issue #4). Rows per push request from a registered system; the longest
# cell a reader accepts; the xlsx zip-bomb guards: total inflated bytes and the worst ratio of
# inflated to compressed size of any member.
DATASTORE_PUSH_MAX_ROWS = int(os.environ.get("GOVDATA_PUSH_MAX_ROWS", str(100_000)))
DATASTORE_MAX_CELL_CHARS = int(os.environ.get("GOVDATA_MAX_CELL_CHARS", str(1_000_000)))
DATASTORE_XLSX_MAX_INFLATED_BYTES = int(os.environ.get("GOVDATA_XLSX_MAX_INFLATED_BYTES", str(2_000_000_000)))
DATASTORE_XLSX_MAX_RATIO = int(os.environ.get("GOVDATA_XLSX_MAX_RATIO", "100"))

# The demo's stand-in upstream interface (govdata.demo.upstream): served only when switched on
# (`make run` does), and the platform's own address, which the demo registers as its URL.
DEMO_UPSTREAM = _env_bool("GOVDATA_DEMO_UPSTREAM")
DEMO_UPSTREAM_URL = os.environ.get("GOVDATA_DEMO_UPSTREAM_URL") or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"

# The data gateway (issue #5): signed requests are accepted this many seconds either side of
# the platform's clock; rate-limit counters live in Redis (shared by every app server) when
# REDIS_URL is set, else in each process's memory.
GATEWAY_SIGNATURE_WINDOW = int(os.environ.get("GOVDATA_GATEWAY_SIGNATURE_WINDOW", "300"))
GATEWAY_RATE_LIMIT_STORAGE = os.environ.get("GOVDATA_GATEWAY_RATE_LIMIT_STORAGE") or REDIS_URL or "memory://"
# The open platform's name (开放平台), shown by the public portal, the CKAN API's status_show,
# the DCAT catalog and the open API's description (``opendata.portal``). Empty: Yingkou's,
# translated (营口市公共数据开放平台); a name set here reads the same in every language.
OPEN_PORTAL_NAME = os.environ.get("GOVDATA_OPEN_PORTAL_NAME", "").strip()
# The open API's fair-use limits (in the same counters): per client address for anonymous
# callers, per user for callers with a personal API token.
OPEN_API_ANON_RATE = os.environ.get("GOVDATA_OPEN_API_ANON_RATE", "60/minute")
OPEN_API_TOKEN_RATE = os.environ.get("GOVDATA_OPEN_API_TOKEN_RATE", "600/minute")
# A JSON push of DATASTORE_PUSH_MAX_ROWS rows is tens of megabytes; Django's 2.5 MB default
# would refuse it with a bare 400 before the push service could say anything.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("GOVDATA_MAX_REQUEST_BYTES", str(64 * 1024 * 1024)))
# The largest table file a department uploads for loading (it is kept on disk, then loaded by
# a background job with flat memory).
DATASTORE_UPLOAD_MAX_BYTES = int(os.environ.get("GOVDATA_MAX_UPLOAD_BYTES", str(5 * 1000 * 1000 * 1000)))
