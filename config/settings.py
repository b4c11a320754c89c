"""Sayso settings: one module, driven by environment variables.

Every option has a development-friendly default so that `make run` works on a fresh
clone; production sets SAYSO_DEBUG=0, SAYSO_SECRET_KEY, SAYSO_ALLOWED_HOSTS and
usually DATABASE_URL / REDIS_URL / SAYSO_EMAIL_HOST. There are no production-only
branches: the same code path runs everywhere, only the values differ.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("SAYSO_DEBUG", True)
# A development key is only acceptable while DEBUG is on; the system check
# `sayso.E001` refuses to start production with it.
DEVELOPMENT_SECRET_KEY = "sayso-development-key-not-for-production-use-0123456789abcdef"  # noqa: S105
SECRET_KEY = os.environ.get("SAYSO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env_list("SAYSO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("SAYSO_CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.environ.get("SAYSO_SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_htmx",
    "ninja",
    "django_tasks_db",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "sayso.core",
    "sayso.accounts",
    "sayso.organisations",
    "sayso.deliberation",
    "sayso.surveys",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
]

ROOT_URLCONF = "config.urls"
FORM_RENDERER = "sayso.core.rendering.SaysoFormRenderer"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "sayso" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "sayso.core.context_processors.navigation",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------
# SQLite (WAL, busy timeout) unless DATABASE_URL names another database.
SQLITE_PATH = Path(os.environ.get("SAYSO_SQLITE_PATH", BASE_DIR / "var" / "sayso.sqlite3"))
# wal_autocheckpoint: SQLite copies the WAL back into the database (two fsyncs) inside
# the commit that crosses the threshold, so that request waits, and so do the threads
# queued behind it. Every 1,000 pages (the default) was every ~250 votes and half of a
# vote's write time; every 10,000 pages (about 40 MB of WAL) pays the fsyncs a tenth as
# often, and a page written many times in between is copied once (docs/benchmarks.md).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;"
)
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": SQLITE_PRAGMAS,
        }
else:
    # The embedded database lives in var/; create the folder on a fresh clone.
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            # Keep each thread's connection between requests: opening one and running
            # the PRAGMAs costs more than most of our queries.
            "CONN_MAX_AGE": int(os.environ.get("SAYSO_CONN_MAX_AGE", "600")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN so that concurrent writers
                # queue on the busy timeout instead of failing with "database is locked"
                # when a read transaction tries to upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": SQLITE_PRAGMAS + " PRAGMA foreign_keys=ON;",
            },
            # Tests use a real file (one per test process), not an in-memory database,
            # so that threaded tests see SQLite's real locking and busy timeout.
            "TEST": {
                "NAME": os.environ.get(
                    "SAYSO_TEST_SQLITE_PATH",
                    str(SQLITE_PATH.parent / f"test-{os.getpid()}.sqlite3"),
                )
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions, rate limits -------------------------------------------------
# App servers keep no local state: the cache (which holds rate-limit counters) lives
# in Redis when REDIS_URL is set, otherwise in a database table.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "sayso_cache",
        }
    }
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

# --- Background tasks ---------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("SAYSO_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- Accounts (django-allauth) -------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Sayso] "
ACCOUNT_FORMS = {"signup": "sayso.accounts.forms.SignupForm"}
ACCOUNT_ADAPTER = "sayso.accounts.adapter.AccountAdapter"
# Rate limits (per IP / per key), counted in the shared cache above. allauth's
# defaults already cover sign-in failures; these make sign-up and code requests
# explicit so they can be tuned in one place.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "request_login_code": "20/m/ip,3/m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Sayso"
USERSESSIONS_TRACK_ACTIVITY = False

# --- Email ---------------------------------------------------------------------------
# Console under `make run`; SMTP when SAYSO_EMAIL_HOST is set (tests point it at a
# real local SMTP sink). Without DEBUG the default is the local mail server, as in
# Django itself: a production site must never drop its invitations on the console.
DEFAULT_FROM_EMAIL = os.environ.get("SAYSO_FROM_EMAIL", "Sayso <sayso@localhost>")
_email_host = os.environ.get("SAYSO_EMAIL_HOST", "" if DEBUG else "localhost")
if _email_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": int(os.environ.get("SAYSO_EMAIL_PORT", "25")),
                "username": os.environ.get("SAYSO_EMAIL_USER", ""),
                "password": os.environ.get("SAYSO_EMAIL_PASSWORD", ""),
                "use_tls": env_bool("SAYSO_EMAIL_TLS", False),
                "timeout": 30,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "sayso" / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/London"
USE_TZ = True

# --- Static files ----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("SAYSO_STATIC_ROOT", BASE_DIR / "var" / "static"))
# WhiteNoise warns on every request when the folder is missing (before collectstatic).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "sayso" / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Prepared survey export files (personal data): private, never served as static or
# media. Without SAYSO_EXPORTS_DIR they go to var/exports (surveys.models.export_storage).
# Set it to a directory that the web servers and the task workers share when they run
# on different machines.
if os.environ.get("SAYSO_EXPORTS_DIR"):
    STORAGES["survey_exports"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            # Relative to the project, so that web servers and workers agree whatever
            # folder each was started from.
            "location": str(BASE_DIR / os.environ["SAYSO_EXPORTS_DIR"]),
            "base_url": "/no-public-url/",
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }

# --- Security --------------------------------------------------------------------------
# A strict Content-Security-Policy: no inline script or style anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SAYSO_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SAYSO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = int(os.environ.get("SAYSO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SAYSO_BEHIND_PROXY", False) else None
)
# /healthz and /readyz must answer plain HTTP from a load balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Sayso options (defaults in one place; checked by sayso.core.checks) ---------------
SAYSO = {
    # Smallest group an aggregate may show to members (DESIGN.md §6).
    "SMALL_GROUP_THRESHOLD": int(os.environ.get("SAYSO_SMALL_GROUP_THRESHOLD", "5")),
    # Invitation links expire after this many days.
    "INVITATION_DAYS": int(os.environ.get("SAYSO_INVITATION_DAYS", "14")),
}

# Every handler hides keys in the addresses it writes (sayso/log_masking.py): Django logs
# "Not Found: /surveys/r/<token>/..." and the development server logs request lines,
# and a survey response's private link, an invitation or a password reset link in a
# log would let its readers use them. Django's own "django" and "django.server"
# handlers (django.utils.log.DEFAULT_LOGGING) are set again here with that filter.
# Django's mail_admins handler is left out: ADMINS is empty, and its report would
# carry the request's whole address and parameters.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "hide_secrets": {"()": "sayso.log_masking.HideSecrets"},
        "require_debug_true": {"()": "django.utils.log.RequireDebugTrue"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["hide_secrets"]},
        "django.console": {
            "level": "INFO",
            "filters": ["require_debug_true", "hide_secrets"],
            "class": "logging.StreamHandler",
        },
        "django.server": {
            "level": "INFO",
            "filters": ["hide_secrets"],
            "class": "logging.StreamHandler",
            "formatter": "django.server",
        },
    },
    "loggers": {
        "django": {"handlers": ["django.console"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("SAYSO_LOG_LEVEL", "WARNING")},
}
