"""Settings shared by every environment, read from the environment (12-factor).

Defaults are the embedded ones used by ``make run``: PostgreSQL from a PyPI wheel (data in
var/pgdata) and kombu's filesystem broker, so a newcomer needs no server. Set DATABASE_URL and CELERY_BROKER_URL for
PostgreSQL and Redis.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from backoffice import embedded_postgres

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("BACKOFFICE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789abcdef")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_celery_results",
    "backoffice.core",
    "records",
    "clearing",
    "settlements",
    "accounting",
    "compliance",
    "backoffice.eod",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "backoffice.core.middleware.ApiBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "backoffice.core.middleware.RequestContextMiddleware",
    "backoffice.core.middleware.ApiJsonErrorsMiddleware",
]

# The largest request body (files of a multipart upload aside): 16 MB, so that a full
# 10,000-trade bulk (about 2.7 MB of JSON) fits with room to spare. Under /api/ a larger body
# answers a JSON 413 (backoffice.core.middleware.ApiBodyLimitMiddleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=16 * 1024 * 1024)

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "backoffice.context_processors.navigation",
            ],
        },
    },
]

# Database -------------------------------------------------------------------------------
# PostgreSQL only. Without DATABASE_URL: the embedded server in var/pgdata (started by
# `python -m backoffice.launcher`, which `make run` and `make test` use).
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": embedded_postgres.DATABASE_NAME,
        "USER": embedded_postgres.USER,
        "HOST": str(embedded_postgres.socket_dir(embedded_postgres.pgdata(VAR_DIR))),
    }}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(f"DATABASE_URL must name a PostgreSQL server, not {DATABASES['default']['ENGINE']}")
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env.bool("DB_SERVER_SIDE_BINDING", default=True):
    # Parameters bound by the server and statements run five times prepared on the connection:
    # repeated queries skip parsing and planning (bench/README.md). Set DB_SERVER_SIDE_BINDING=false
    # behind a connection pooler that cannot keep prepared statements (PgBouncer before 1.21 in
    # transaction mode).
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
# A pool of connections per process (psycopg_pool, Django's own pooling), for web processes serving requests on
# several threads (gunicorn --threads): DB_POOL_MAX_SIZE connections at most, shared by the threads, opened once
# and health-checked by the pool; a request waits up to DB_POOL_TIMEOUT seconds for one. 0 (the default): none,
# each thread keeps its own connection for CONN_MAX_AGE seconds. A pool replaces persistent connections. Leave it
# off for Celery workers, whose processes each run one task at a time (docs/scaling.md, "Connections").
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=0)
if DB_POOL_MAX_SIZE < 0:
    raise ImproperlyConfigured(f"DB_POOL_MAX_SIZE must be 0 (no pool) or more, not {DB_POOL_MAX_SIZE}")
if DB_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(env.int("DB_POOL_MIN_SIZE", default=1), DB_POOL_MAX_SIZE), "max_size": DB_POOL_MAX_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0)}
# A read replica for the reports (backoffice/core/replica.py): REPORTS_DATABASE_URL names a streaming replica of
# the primary; the reports' reads go there, everything else to the primary. Without it, the primary serves all.
if env.str("REPORTS_DATABASE_URL", default=""):
    DATABASES["reports"] = {**env.db("REPORTS_DATABASE_URL"),
                            "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"], "CONN_HEALTH_CHECKS": True,
                            "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {}))}
REPORTS_REPLICA = "reports" in DATABASES
DATABASE_ROUTERS = ["backoffice.core.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: API throttling counts live here. Set CACHE_URL=redis://... so all processes share them.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the finders in development and tests: no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "backoffice.core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["backoffice.core.permissions.IsSuperuser"],
    "DEFAULT_PARSER_CLASSES": ["backoffice.core.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "backoffice.core.negotiation.LenientContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "backoffice.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["backoffice.core.api.StrictFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "backoffice.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "backoffice.core.exceptions.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "DEFAULT_THROTTLE_CLASSES": ["backoffice.core.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_THROTTLE_RATE", default="100000/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Back-office operations API",
    "DESCRIPTION": (
        "Trade capture, inventory, pricing, clearing, settlement, accounting, compliance and records. "
        "Quantities, prices and amounts are JSON strings holding decimals. "
        "Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AccountKindEnum": "records.reference.models.Account.Kind",
        "CashMovementKindEnum": "records.cash.models.CashMovement.Kind",
        "AccountStatusEnum": "records.reference.models.Account.Status",
        "TradeStatusEnum": "records.trades.models.Trade.Status",
        "BulkItemStatusEnum": ["created", "duplicate", "rejected"],
        # A clearing run's status is its job's; an obligation's its own.
        "JobStatusEnum": "backoffice.core.jobs.models.JobRun.Status",
        "ObligationStatusEnum": "clearing.models.Obligation.Status",
        "SettlementRunKindEnum": ["RUN", "CONFIRMATIONS"],
        "TradeMatchStatusEnum": "records.trades.models.Trade.MatchStatus",
        "ConfirmationMatchStatusEnum": "clearing.models.Confirmation.MatchStatus",
        "InstructionStatusEnum": "settlements.models.SettlementInstruction.Status",
        "FailKindEnum": "settlements.models.SettlementFail.Kind",
        "ComplianceRuleKindEnum": "compliance.rules.models.RuleKind",
        "ComplianceRuleScopeEnum": "compliance.rules.models.RuleScope",
        "ComplianceRuleActionEnum": "compliance.rules.models.RuleAction",
        "LocateKindEnum": "compliance.shorts.models.Locate.Kind",
    },
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Token first: without credentials the schema answers 401 with WWW-Authenticate, as every endpoint
    # does (DRF answers 403 when the first class is session authentication); Swagger UI uses the session.
    "SERVE_AUTHENTICATION": [
        "backoffice.core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

# Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: works across processes with no server. One folder for
    # both directions; it must exist before the worker starts.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_FOLDER),
        "data_folder_out": str(BROKER_FOLDER),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_STORE_EAGER_RESULT = True
CELERY_TASK_EAGER_PROPAGATES = True
# Tasks are idempotent, so a redelivery after a worker dies is safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Synced into django-celery-beat's tables at beat start; operations staff tune them in the admin.
CELERY_BEAT_SCHEDULE = {
    "seal-audit-trail": {"task": "records.audit_seal", "schedule": env.float("AUDIT_SEAL_SECONDS", default=10.0)},
    # Recompute the whole chain every night and keep the result (the audit trail page shows it).
    "verify-audit-trail": {"task": "records.audit_verify", "schedule": crontab(hour=3, minute=30)},
    # Yesterday's books-and-records exports and their signed manifest (idempotent per date).
    "daily-exports": {"task": "records.daily_exports", "schedule": crontab(hour=1, minute=0)},
    # Records past retention and not on hold (SEC 17a-4 periods; signed tombstones).
    "retention-purge": {"task": "records.purge", "schedule": crontab(hour=2, minute=0, day_of_week="sunday")},
}

# Back-office settings ----------------------------------------------------------------------
# Pre-trade checks, in order (the way AUTH_PASSWORD_VALIDATORS works). Each is a dotted path
# to a check class (compliance.pretrade) with its OPTIONS; records never imports compliance.
# RulesCheck evaluates the compliance rules (account status and KYC, buying power, short sales,
# position limit, concentration, notional, quantity, price deviation): their limits and actions
# are data, changed under maker-checker (docs/compliance.md), not settings.
PRETRADE_CHECKS = [
    {"NAME": "compliance.pretrade.RestrictedListCheck", "OPTIONS": {"action": "REJECT"}},
    {"NAME": "compliance.pretrade.CurrencyCheck", "OPTIONS": {"action": "REJECT"}},
    {"NAME": "compliance.pretrade.RulesCheck"},
]

# What happens when trades are booked or change (records.trades.hooks), in capture's transaction:
# clearing matches waiting confirmations to them. Records never imports clearing.
TRADE_HOOKS: list[str] = ["clearing.matching.services.matching.matching_on_trades",
                          # Pre-trade rules whose action is ALERT raise their alerts once a trade is booked.
                          "compliance.pretrade.alerts_on_trades"]
# Matching (clearing): every open confirmation is matched again this often (job clearing-match), for
# what arrivals do not retry: a tolerance changed, a trade another transaction held at the time.
CELERY_BEAT_SCHEDULE["clearing-match"] = {
    "task": "clearing.match", "schedule": env.float("CLEARING_MATCH_SECONDS", default=900.0)}

# Tasks queued for each batch-job run: that many workers share its chunks (each claims the chunks
# no other holds; backoffice/core/jobs/services.py). 1 runs a job on one worker; more help only
# where there are workers (or worker processes, --concurrency) idle to take them.
JOB_TASKS_PER_RUN = env.int("JOB_TASKS_PER_RUN", default=2)
# The Celery queue of each kind of batch job, e.g. JOB_QUEUES="clearing-netting=netting,settlement-run=settlement":
# workers started with `-Q celery,settlement` take the settlement runs (and the default queue's tasks); a kind not
# named goes to the default queue, "celery". Empty: every job on the default queue (docs/scaling.md).
JOB_QUEUES = env.dict("JOB_QUEUES", default={})

# Steps appended to a kind of batch job (backoffice.core.jobs.registry.job_plan): how the project
# composes an upper app's work after a lower app's job without the lower app importing it.
# A clearing run ends with the settlement instructions of its obligations (settlements, DESIGN.md §6).
JOB_STEP_EXTENSIONS: dict[str, list[str]] = {"clearing-netting": ["settlements.instructions.jobs.instruction_steps"]}

# Netting (clearing): the beat schedule runs the netting of the next settlement date at this
# local time of TIME_ZONE, after the trading day's capture has ended.
CLEARING_CUTOFF = env.str("CLEARING_CUTOFF", default="18:30")
try:
    _cutoff_hour, _cutoff_minute = (int(part) for part in CLEARING_CUTOFF.split(":"))
except ValueError:
    raise ImproperlyConfigured(f"CLEARING_CUTOFF must be HH:MM, not {CLEARING_CUTOFF!r}.") from None
# Monday to Friday: the clearing run of the next settlement date (clearing/netting/tasks.py).
CELERY_BEAT_SCHEDULE["clearing-netting"] = {
    "task": "clearing.netting_run",
    "schedule": crontab(hour=_cutoff_hour, minute=_cutoff_minute, day_of_week="mon-fri"),
}

# Settlement (settlements): the beat schedule runs the settlement of today at this local time of
# TIME_ZONE: every open instruction due by today (settlements/runs/tasks.py).
SETTLEMENT_CUTOFF = env.str("SETTLEMENT_CUTOFF", default="15:30")
try:
    _settle_hour, _settle_minute = (int(part) for part in SETTLEMENT_CUTOFF.split(":"))
except ValueError:
    raise ImproperlyConfigured(f"SETTLEMENT_CUTOFF must be HH:MM, not {SETTLEMENT_CUTOFF!r}.") from None
CELERY_BEAT_SCHEDULE["settlement-run"] = {
    "task": "settlements.settlement_run",
    "schedule": crontab(hour=_settle_hour, minute=_settle_minute, day_of_week="mon-fri"),
}

# Fails (settlements): a settlement run ends with the Reg SHO deadlines of its fails and the CSDR
# penalties of the settlement day before it (settlements/fails/jobs.py). The beat entry accrues that
# day's penalties again early every weekday, in case no run did (each penalty is inserted once).
JOB_STEP_EXTENSIONS["settlement-run"] = ["settlements.fails.jobs.settlement_run_steps"]
FAIL_PENALTIES_AT = env.str("FAIL_PENALTIES_AT", default="06:00")
try:
    _penalties_hour, _penalties_minute = (int(part) for part in FAIL_PENALTIES_AT.split(":"))
except ValueError:
    raise ImproperlyConfigured(f"FAIL_PENALTIES_AT must be HH:MM, not {FAIL_PENALTIES_AT!r}.") from None
CELERY_BEAT_SCHEDULE["fail-penalties"] = {
    "task": "settlements.fail_penalties",
    "schedule": crontab(hour=_penalties_hour, minute=_penalties_minute, day_of_week="mon-fri"),
}

# Accounting: the base currency every journal line is also carried in (at stored FX rates), and
# how often the posting job brings the ledger up to what happened (accounting/posting/); the
# end of day also marks to market, revalues FX balances and reconciles (accounting-eod).
ACCOUNTING_BASE_CURRENCY = env.str("ACCOUNTING_BASE_CURRENCY", default="USD")
ACCOUNTING_POSTING_SECONDS = env.float("ACCOUNTING_POSTING_SECONDS", default=300.0)
# Chunks (ranges of accounts) per posting step, several workers sharing them: at least this many, and
# one per ACCOUNTING_TRADES_PER_CHUNK trades of the blotter, which bounds a chunk's memory.
ACCOUNTING_POSTING_CHUNKS = env.int("ACCOUNTING_POSTING_CHUNKS", default=8)
ACCOUNTING_TRADES_PER_CHUNK = env.int("ACCOUNTING_TRADES_PER_CHUNK", default=25_000)
CELERY_BEAT_SCHEDULE["accounting-posting"] = {
    "task": "accounting.posting_run", "schedule": ACCOUNTING_POSTING_SECONDS}
ACCOUNTING_EOD_AT = env.str("ACCOUNTING_EOD_AT", default="19:30")
try:
    _eod_hour, _eod_minute = (int(part) for part in ACCOUNTING_EOD_AT.split(":"))
except ValueError:
    raise ImproperlyConfigured(f"ACCOUNTING_EOD_AT must be HH:MM, not {ACCOUNTING_EOD_AT!r}.") from None
CELERY_BEAT_SCHEDULE["accounting-eod"] = {
    "task": "accounting.eod_run",
    "schedule": crontab(hour=_eod_hour, minute=_eod_minute, day_of_week="mon-fri"),
}

# Compliance surveillance (compliance/surveillance/): the day's post-trade scenarios at this local time of
# TIME_ZONE on weekdays, after accounting's end of day (a run per trade date; reruns raise nothing twice).
COMPLIANCE_SURVEILLANCE_AT = env.str("COMPLIANCE_SURVEILLANCE_AT", default="20:00")
try:
    _surveillance_hour, _surveillance_minute = (int(part) for part in COMPLIANCE_SURVEILLANCE_AT.split(":"))
except ValueError:
    raise ImproperlyConfigured(
        f"COMPLIANCE_SURVEILLANCE_AT must be HH:MM, not {COMPLIANCE_SURVEILLANCE_AT!r}.") from None
CELERY_BEAT_SCHEDULE["compliance-surveillance"] = {
    "task": "compliance.surveillance_run",
    "schedule": crontab(hour=_surveillance_hour, minute=_surveillance_minute, day_of_week="mon-fri"),
}

# End of day (backoffice/eod/, docs/eod.md): the whole pipeline of today's settlement date (matching,
# netting, settlement, posting, mark to market, reconciliation, surveillance) at this local time of
# TIME_ZONE on weekdays, after the per-stage entries above: it finds their work done and completes
# what they left (each stage is idempotent), or stops at the stage that fails, with its reason.
EOD_AT = env.str("EOD_AT", default="21:00")
try:
    _eod_run_hour, _eod_run_minute = (int(part) for part in EOD_AT.split(":"))
except ValueError:
    raise ImproperlyConfigured(f"EOD_AT must be HH:MM, not {EOD_AT!r}.") from None
# Parameters given to the new child runs of an EOD run's stages, by kind: how finely their chunks are cut,
# so that more workers share them, e.g. {"clearing-netting": {"trades_per_chunk": 20000},
# "settlement-run": {"instructions_per_chunk": 20000}} (JSON in the environment). Empty: each kind's default.
EOD_STAGE_PARAMETERS = env.json("EOD_STAGE_PARAMETERS", default={})
CELERY_BEAT_SCHEDULE["eod"] = {
    "task": "backoffice.eod_run",
    "schedule": crontab(hour=_eod_run_hour, minute=_eod_run_minute, day_of_week="mon-fri"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # The audit seal runs every 10 s: its lines show only when it sealed something.
    "filters": {"quiet_routine": {"()": "backoffice.core.logs.QuietRoutine", "tasks": ["records.audit_seal"]}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery.beat": {"filters": ["quiet_routine"]},
        "celery.worker.strategy": {"filters": ["quiet_routine"]},
        "celery.app.trace": {"filters": ["quiet_routine"]},
    },
}

# Compliance: how long an alert may stay open, by severity, before its SLA is breached (hours).
COMPLIANCE_ALERT_SLA_HOURS = {"CRITICAL": 4, "HIGH": 24, "MEDIUM": 72, "LOW": 120}
