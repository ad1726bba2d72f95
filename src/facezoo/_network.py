"""Fail fast on a server that cannot be reached: a TCP connection check with few, short attempts, instead of an HTTP
client's retry loop of tens of seconds. Used by the Hub client and the dataset downloader."""

from __future__ import annotations

import os
import socket
import time
import urllib.parse
import urllib.request

RETRIES_ENV = "FACEZOO_NETWORK_RETRIES"
"""Environment variable: how many times to retry connecting to an unreachable server (default 1, about 5 s)."""
_CONNECT_TIMEOUT_S = 2.0


def unreachable(url: str, *, retries_env: str = RETRIES_ENV) -> str | None:
    """Why no TCP connection to ``url``'s host opens (e.g. ``"Connection refused, 2 attempts"``; ``retries_env``
    more attempts after the first, default 1, about 5 s in all), or ``None`` when one does. A proxy in the way
    decides for itself: ``None`` then."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if urllib.request.getproxies() and not urllib.request.proxy_bypass(host):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        retries = max(0, int(os.environ.get(retries_env, "1")))
    except ValueError:
        raise ValueError(f"{retries_env} must be a whole number, got {os.environ[retries_env]!r}.") from None
    reason = ""
    for attempt in range(retries + 1):
        try:
            socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S).close()
            return None
        except OSError as error:
            reason = error.strerror or type(error).__name__
            if attempt < retries:
                time.sleep(min(2.0**attempt * 0.5, 8.0))
    return f"{reason}, {retries + 1} attempts"
