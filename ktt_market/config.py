"""Settings from the environment, with embedded defaults that run on a laptop.

Nothing secret is a constant here: SECRET_KEY comes from the environment or is generated
once into the instance folder.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _instance_secret(instance_path: Path) -> str:
    """Return the secret key kept in the instance folder, creating it on first use."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


BACKGROUND_DEFAULTS: dict[str, float] = {
    "ORDER_PAYMENT_TIMEOUT_MINUTES": 60,
    "ORDER_COMPLETE_AFTER_DAYS": 14,
    "NOTIFY_MAX_ATTEMPTS": 8,
    "NOTIFY_RETRY_BASE_SECONDS": 30,
    "NOTIFY_RETRY_CAP_SECONDS": 3600,
    "NOTIFY_LEASE_SECONDS": 300,
    "NOTIFY_DISPATCH_SECONDS": 15,
    "NOTIFY_DISPATCH_MAX": 20_000,
    "NOTIFY_PAYMENT_WARNING_MINUTES": 15,
    "HEARTBEAT_SECONDS": 30,
}


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise RuntimeError(f"{name} must be positive, not {raw!r}")
    return int(value) if value.is_integer() else value


def _fee_bps() -> int:
    """Read PLATFORM_FEE_BPS: the platform's fee in basis points of a sale (300 = 3 %), 0..10000."""
    raw = (os.environ.get("PLATFORM_FEE_BPS") or "").strip()
    if not raw:
        return 300
    # A typo here would charge every cooperative the wrong fee: refuse to start rather than guess.
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 10_000:
        raise RuntimeError(
            f"PLATFORM_FEE_BPS must be a whole number of basis points from 0 to 10000 (300 = 3 %), not {raw!r}"
        )
    return int(raw)


def _storage() -> str:
    """Read KTT_STORAGE: "local" (a folder of this server) or "s3" (a bucket every server shares)."""
    kind = (os.environ.get("KTT_STORAGE") or "local").strip().lower()
    if kind not in {"local", "s3"}:
        raise RuntimeError(f"KTT_STORAGE must be local or s3, not {kind!r}")
    # Photos uploaded to no bucket would be lost on the first request: refuse to start instead.
    if kind == "s3" and not os.environ.get("KTT_S3_BUCKET"):
        raise RuntimeError("KTT_STORAGE=s3 needs KTT_S3_BUCKET, the bucket's name")
    return kind


def _proxy_hops() -> int:
    """Read KTT_PROXY_HOPS: how many proxies in front of the app set trustworthy X-Forwarded-* headers."""
    raw = (os.environ.get("KTT_PROXY_HOPS") or "0").strip()
    if not (raw.isascii() and raw.isdigit()):
        raise RuntimeError(f"KTT_PROXY_HOPS must be a whole number (0: no proxy), not {raw!r}")
    return int(raw)


def load_config(instance_path: Path) -> dict:
    """Build the configuration mapping for one app instance."""
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'ktt_market.db'}"
    # Heroku-style URLs name the driver "postgres://"; SQLAlchemy wants an explicit one.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    redis_url = env.get("REDIS_URL") or None
    https = _bool("KTT_HTTPS")
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A ping before each use (KTT_DB_PRE_PING, on by default) finds connections a restarted server
        # dropped, so the first request after a restart works. It costs a round trip each time a request
        # takes a connection from the pool; KTT_DB_PRE_PING=0 saves it where the database never restarts
        # under the app. Idle connections are renewed before a firewall or the server would drop them.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": _bool("KTT_DB_PRE_PING", True), "pool_recycle": 1800},
        "REDIS_URL": redis_url,
        # Sessions: HttpOnly and Lax always, Secure once served over HTTPS.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "KTT_HTTPS": https,
        # Behind a load balancer: the client's address and scheme from its X-Forwarded-* headers (0: none).
        "KTT_PROXY_HOPS": _proxy_hops(),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": int(env.get("KTT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)),
        # Language and time.
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ("vi", "en"),
        # Login throttling: per address and per account.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis away must not lock people out: count in memory until it is back, and never hang on it.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2} if redis_url else {},
        "LOGIN_RATE_LIMIT": env.get("KTT_LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        # Mail: SMTP when MAIL_SERVER is set, else messages are printed to the console.
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(env.get("MAIL_PORT", 25)),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "KTT Market <no-reply@ktt.example>"),
        "PASSWORD_RESET_MAX_AGE": int(env.get("KTT_PASSWORD_RESET_MAX_AGE", 3600)),
        # Payments (used by the payments area).
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,
        # The platform's own account for bank transfers (VietQR): without it, transfers go only to
        # cooperatives that set their own account, and the method is hidden when none has.
        "PLATFORM_BANK_BIN": env.get("PLATFORM_BANK_BIN") or None,
        "PLATFORM_BANK_ACCOUNT": env.get("PLATFORM_BANK_ACCOUNT") or None,
        "PLATFORM_BANK_NAME": env.get("PLATFORM_BANK_NAME") or None,
        "PLATFORM_FEE_BPS": _fee_bps(),
        # Public listing pages kept per worker for anonymous visitors (0 turns it off); see core/pagecache.py.
        "KTT_PAGE_CACHE_SECONDS": float(env.get("KTT_PAGE_CACHE_SECONDS", 5)),
        # Where uploads and generated files go.
        "UPLOAD_FOLDER": env.get("KTT_UPLOAD_FOLDER") or str(instance_path / "uploads"),
        # Product photos: where they are kept ("local": UPLOAD_FOLDER/media; "s3": a bucket, see
        # core/storage.py) and the largest file accepted. S3 credentials are boto3's AWS_* variables.
        "KTT_STORAGE": _storage(),
        "KTT_S3_BUCKET": env.get("KTT_S3_BUCKET") or None,
        "KTT_S3_ENDPOINT_URL": env.get("KTT_S3_ENDPOINT_URL") or None,
        "KTT_S3_REGION": env.get("KTT_S3_REGION") or None,
        "KTT_S3_PUBLIC_URL": env.get("KTT_S3_PUBLIC_URL") or None,
        "KTT_MAX_IMAGE_BYTES": int(env.get("KTT_MAX_IMAGE_BYTES", 5 * 1024 * 1024)),
        # The address in e-mails' links (workers have no request to take it from).
        "KTT_BASE_URL": env.get("KTT_BASE_URL") or None,
        # Background work: order deadlines, delivery retries, the dispatcher and heartbeat periods.
        **{name: _number(name, default) for name, default in BACKGROUND_DEFAULTS.items()},
    }
