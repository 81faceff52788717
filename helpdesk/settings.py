"""Settings for the helpdesk.

Every setting comes from an environment variable with an embedded default, so that `make run` works on a
fresh machine with nothing else installed (SQLite, in-memory channel layer, Celery tasks run eagerly) and
production only sets variables (PostgreSQL, Redis, a real Celery worker). README.md lists every variable.
"""

import os
from pathlib import Path

from helpdesk.envconfig import env_bool, env_float, env_int, env_list, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)
# The "django-insecure-" prefix makes `manage.py check --deploy` flag it if production forgets the variable.
_DEV_SECRET = "django-insecure-embedded-default-change-me-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", _DEV_SECRET)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "channels",
    "tickets",
    "policies",
    "channels_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = os.environ.get("DJANGO_ROOT_URLCONF", "helpdesk.urls")
ASGI_APPLICATION = "helpdesk.asgi.application"

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
            ],
        },
    },
]

# No DATABASE_URL: a SQLite file beside the code. With DATABASE_URL=postgres://... the same code runs on
# PostgreSQL.
DATABASES = {
    "default": parse_database_url(
        os.environ.get("DATABASE_URL", ""),
        sqlite_default=BASE_DIR / "db.sqlite3",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Anonymous visitors never see tickets, so guardian needs no anonymous user row.
ANONYMOUS_USER_NAME = None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
# Serve straight from the apps' static folders when nothing was collected (tests, development).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)

# Live events. No REDIS_URL: the in-memory layer, which works inside the one server process of the
# embedded default. With REDIS_URL: channels_redis, shared by every server and worker process.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    _layer_backends = {
        "core": "channels_redis.core.RedisChannelLayer",
        "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": _layer_backends[os.environ.get("HELPDESK_CHANNEL_LAYER", "core")],
            "CONFIG": {
                # redis-py 8 times reads out after 5 s by default: exactly as long as channels_redis's blocking
                # receive waits, so an idle websocket's consumer died with "Timeout reading" (closed with 1011).
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "prefix": os.environ.get("HELPDESK_CHANNEL_PREFIX", "helpdesk"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery. No broker: tasks run eagerly, in the process that queues them (after the transaction commits).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "helpdesk")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# The tick (SLA breaches, escalation levels). Where there is a broker, Celery beat sends policies.sla_tick
# on the django-celery-beat schedule "policies: SLA and escalation tick" (every second; edit it in the
# admin). The embedded default runs it in a thread of the server process (HELPDESK_SLA_TICKER), every
# HELPDESK_SLA_TICK_SECONDS.
HELPDESK_SLA_TICK_SECONDS = env_int("HELPDESK_SLA_TICK_SECONDS", 1)
HELPDESK_SLA_TICKER = env_bool("HELPDESK_SLA_TICKER", CELERY_TASK_ALWAYS_EAGER)

# Escalation webhooks: per try timeout, tries before a call is given up, and the doubling backoff between.
HELPDESK_WEBHOOK_TIMEOUT = env_int("HELPDESK_WEBHOOK_TIMEOUT", 10)
HELPDESK_WEBHOOK_MAX_ATTEMPTS = env_int("HELPDESK_WEBHOOK_MAX_ATTEMPTS", 8)
HELPDESK_WEBHOOK_BACKOFF_SECONDS = env_float("HELPDESK_WEBHOOK_BACKOFF_SECONDS", 30.0)
HELPDESK_WEBHOOK_BACKOFF_MAX_SECONDS = env_float("HELPDESK_WEBHOOK_BACKOFF_MAX_SECONDS", 3600.0)

# Inbound webhooks and outbound replies.
HELPDESK_WEBHOOK_MAX_BYTES = env_int("HELPDESK_WEBHOOK_MAX_BYTES", 1024 * 1024)
# Django refuses bodies above this before our view can answer 413, so keep it above the webhook limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = HELPDESK_WEBHOOK_MAX_BYTES + 1024
HELPDESK_OUTBOUND_TIMEOUT = env_int("HELPDESK_OUTBOUND_TIMEOUT", 10)
HELPDESK_OUTBOUND_MAX_RETRIES = env_int("HELPDESK_OUTBOUND_MAX_RETRIES", 5)
HELPDESK_OUTBOUND_BACKOFF_SECONDS = env_float("HELPDESK_OUTBOUND_BACKOFF_SECONDS", 2.0)
# Files contacts send are fetched from the platform into MEDIA_ROOT, up to this size each, with this many tries.
# MEDIA_ROOT is never served as public media: a view checks the ticket's permission for every file.
MEDIA_ROOT = os.environ.get("HELPDESK_MEDIA_ROOT", str(BASE_DIR / "media"))
HELPDESK_ATTACHMENT_MAX_BYTES = env_int("HELPDESK_ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024)
HELPDESK_ATTACHMENT_MAX_TRIES = env_int("HELPDESK_ATTACHMENT_MAX_TRIES", 6)
HELPDESK_ATTACHMENT_BACKOFF_SECONDS = env_float("HELPDESK_ATTACHMENT_BACKOFF_SECONDS", 4.0)
# Email (escalation notifications). The default prints mail to the server's console; production sets SMTP.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "build" / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "helpdesk@localhost")
# Where agents reach the helpdesk, for links in emails.
HELPDESK_BASE_URL = os.environ.get("HELPDESK_BASE_URL", "http://127.0.0.1:8000")
HELPDESK_INBOX_PAGE_SIZE = env_int("HELPDESK_INBOX_PAGE_SIZE", 50)

# The REST API (/api/v1/): a token per user (the admin issues and revokes them) or the browser's session; JSON
# errors; cursor pages. Who sees what is django-guardian's rule, as in the agent UI.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: a request without credentials is answered 401 with a WWW-Authenticate challenge.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "tickets.api.pagination.IdCursorPagination",
    "PAGE_SIZE": env_int("HELPDESK_API_PAGE_SIZE", 50),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tickets.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Helpdesk API",
    "DESCRIPTION": "Tickets, messages, contacts and channel accounts, within the caller's permissions.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # One line per request from daphne is noise at the default level.
        "django.channels.server": {"level": "WARNING"},
    },
}
