"""Queue and worker settings, read from ``IMAGINE_*`` environment variables (and ``.env``).

Built in ``main()`` (CLI) or by the bot at start-up, never at import. The Redis password is a SecretStr: it
never appears in ``repr`` or logs, and the URL is shown with its password masked.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    import redis

    # Aliased: inside QueueSettings the name ``redis`` is the method below, not the package.
    from redis.asyncio import Redis as AsyncRedis


# How every process reads its settings: ``IMAGINE_*`` variables, then a ``.env`` file in the working directory,
# unknown names ignored (one .env serves the bot, the workers and the engine). QueueSettings, BotSettings and
# models.settings.EngineSettings all use it, so ``imagine bot`` and ``imagine worker`` started from the same
# directory cannot read different values.
ENV_CONFIG = SettingsConfigDict(env_prefix="IMAGINE_", env_file=".env", extra="ignore")


# Every client: a command that fails on a broken connection is sent again on a fresh one, twice at most, after
# 0.1 s and 0.2 s: a restarted Redis costs one reconnect, an outage is reported in about a third of a second.
REDIS_RETRIES = 2
REDIS_RETRY_BASE_S = 0.05
REDIS_RETRY_CAP_S = 0.25
# A host that does not answer at all (not merely refuses) is given up on after this long.
REDIS_CONNECT_TIMEOUT_S = 5.0


class StoreKind(StrEnum):
    """Result store backends."""

    REDIS = "redis"
    DIRECTORY = "directory"


class QueueSettings(BaseSettings):
    """Everything between "the bot enqueued a job" and "the bot is told the result"."""

    model_config = ENV_CONFIG

    # Out of repr: a URL may embed a password. Log redis_url_safe instead.
    redis_url: str = Field(default="redis://localhost:6379/0", repr=False)
    redis_password: SecretStr | None = None
    # Connections one client may hold (a process has a client or two). A call finding them all busy waits for one
    # up to redis_pool_timeout_s (then fails like an unreachable Redis), so a burst of commands queues up for
    # connections instead of failing.
    redis_max_connections: int = Field(default=50, ge=1)
    redis_pool_timeout_s: float = Field(default=10.0, gt=0)

    # The engine class a worker loads once, as "module:Class" (tests point this at a fake).
    engine: str = "models.engine:Engine"

    # Explicit job timeout (RQ's default is 180 s): a job running longer fails with a clear reason.
    job_timeout_s: int = Field(default=600, ge=1)
    # A running job's heartbeat: if a worker dies, its job is found abandoned this long after the last beat.
    heartbeat_s: int = Field(default=30, ge=1)
    # How often a worker looks for abandoned jobs (RQ registry cleanup).
    maintenance_s: int = Field(default=60, ge=1)
    # Re-runs of a job whose worker died mid-job; after these it fails with a clear reason.
    max_retries: int = Field(default=2, ge=0)

    image_ttl_s: int = Field(default=24 * 3600, ge=1)
    spec_ttl_s: int = Field(default=30 * 24 * 3600, ge=1)
    store: StoreKind = StoreKind.REDIS
    store_dir: Path = Path("/var/lib/imagine/results")

    events_maxlen: int = Field(default=10_000, ge=100)
    # Progress events without a preview are sent at most this often.
    progress_interval_s: float = Field(default=1.0, ge=0)

    # Per-user limits (Midjourney-like): this many run at once; beyond that jobs wait, up to queued_limit more.
    concurrent_limit: int = Field(default=3, ge=1)
    queued_limit: int = Field(default=10, ge=0)
    # Jobs in flight over all users; beyond it enqueue answers "Queue full".
    queue_cap: int = Field(default=500, ge=1)
    # Safety net: an admitted job's slot is freed after this long even if nothing reported its end.
    slot_ttl_s: int = Field(default=6 * 3600, ge=60)

    # Prometheus metrics of ``imagine worker`` at http://<metrics_host>:<worker_metrics_port>/metrics; 0: none.
    # Workers sharing a machine (and its network) need a port each. Named apart from the bot's port, so one .env
    # can set both.
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    # 127.0.0.1 keeps the endpoint on this machine; 0.0.0.0 in a container whose port is published or scraped.
    metrics_host: str = "127.0.0.1"

    @field_validator("redis_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("redis_url must start with redis://, rediss:// or unix://")
        return value

    @property
    def redis_url_safe(self) -> str:
        """The Redis URL with any password masked, for logs."""
        parts = urlsplit(self.redis_url)
        if parts.password is None:
            return self.redis_url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))

    def _password(self) -> str | None:
        return self.redis_password.get_secret_value() if self.redis_password else None

    def _pool_options(self) -> dict[str, Any]:
        """Connection pool options shared by the sync and asyncio clients (each adds its own ``retry``)."""
        import redis.exceptions

        options: dict[str, Any] = {
            "max_connections": self.redis_max_connections,
            "timeout": self.redis_pool_timeout_s,  # waiting for a free connection
            "health_check_interval": 30,
            "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_S,
            # A pooled connection that died (Redis restarted) fails its next command; that command is sent again
            # on a fresh connection. An outage that lasts fails within a fraction of a second, not a hang.
            "retry_on_error": [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
        }
        if pw := self._password():  # a password in the URL still wins (redis-py lets URL options override keywords)
            options["password"] = pw
        return options

    def redis(self) -> redis.Redis:
        """A binary-safe client, as RQ needs (no decode_responses), thread-safe, on a blocking pool."""
        import redis as redis_sync
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        retry = Retry(ExponentialBackoff(cap=REDIS_RETRY_CAP_S, base=REDIS_RETRY_BASE_S), REDIS_RETRIES)
        pool = redis_sync.BlockingConnectionPool.from_url(self.redis_url, retry=retry, **self._pool_options())
        return redis_sync.Redis.from_pool(pool)

    def redis_async(self) -> AsyncRedis:
        """An asyncio client (the bot's), on a blocking pool."""
        import redis.asyncio as redis_async
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff

        retry = Retry(ExponentialBackoff(cap=REDIS_RETRY_CAP_S, base=REDIS_RETRY_BASE_S), REDIS_RETRIES)
        pool = redis_async.BlockingConnectionPool.from_url(self.redis_url, retry=retry, **self._pool_options())
        return redis_async.Redis.from_pool(pool)
