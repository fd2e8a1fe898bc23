"""Per-chat limits on bot commands: a fixed window per minute, counted in Redis so every web
replica sees the same count."""

from __future__ import annotations

import time

import redis
from flask import current_app

REDIS_EXTENSION = "bot_rate_limit_redis"


def _redis() -> redis.Redis:
    client: redis.Redis | None = current_app.extensions.get(REDIS_EXTENSION)
    if client is None:
        timeout = current_app.config["BROKER_PUBLISH_TIMEOUT_SECONDS"]
        client = redis.Redis.from_url(
            current_app.config["BROKER_URL"],
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
        )
        current_app.extensions[REDIS_EXTENSION] = client
    return client


def allow_command(chat_id: str) -> bool:
    """Count a command of the chat; False once it has sent BOT_COMMANDS_PER_MINUTE this minute.

    Raises redis.RedisError when Redis is unreachable (the command could not be sent on anyway).
    """
    per_minute: int = current_app.config["BOT_COMMANDS_PER_MINUTE"]
    window = int(time.time() // 60)
    key = f"bot:commands:{chat_id}:{window}"
    pipeline = _redis().pipeline()
    pipeline.incr(key)
    pipeline.expire(key, 120)
    count, _ = pipeline.execute()
    return int(count) <= per_minute
