"""Who may post to the webhook: a bearer token, or an HMAC-SHA256 signature that cannot be replayed.

A bearer token is simple for callers but a copied request can be sent again; the signature scheme
binds each request to its body and a timestamp. The caller sends

    X-Brandmon-Timestamp: <Unix seconds>
    X-Brandmon-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

A timestamp more than `REPLAY_WINDOW_SECONDS` away from our clock is refused (401), and a signature
already accepted (or still waiting for Kafka) inside that window is refused as a replay with 409,
not 401: the credentials are fine, that exact request was received before, so do not resend it.
A request that is not acknowledged in the end (400, 503, ...) releases its signature, so the
caller may resend it unchanged. Bearer tokens have no replay protection: use them over TLS (a
proxy in front), and rely on the stream's dedup by id for repeats. Every comparison is
constant-time; secrets never appear in errors, logs or responses.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPLAY_WINDOW_SECONDS = 300
MAX_REMEMBERED = 200_000
"""Signatures remembered at most (about 30 MB); when full, requests get 503 until old ones expire."""
MIN_SECRET_LENGTH = 16


class AuthError(Exception):
    """A request that may not pass: `status` for the response, `reason` safe to send back."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def load_secret(options: Mapping[str, Any], env_key: str, file_key: str, source: str) -> bytes | None:
    """The secret named by `options[env_key]` (a variable name) or `options[file_key]` (a path)."""
    where = f"webhook source {source!r}"
    if env_key in options and file_key in options:
        raise ValueError(f"{where}: give {env_key} or {file_key}, not both")
    if env_key in options:
        variable = str(options[env_key])
        value = os.environ.get(variable, "").strip()
        if not value:
            raise ValueError(f"{where}: environment variable {variable} ({env_key}) is unset or empty")
    elif file_key in options:
        path = Path(str(options[file_key]))
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ValueError(f"{where}: cannot read {file_key} {path}: {error.strerror}") from None
        if not value:
            raise ValueError(f"{where}: {file_key} {path} is empty")
    else:
        return None
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"{where}: the {env_key.split('_')[0]} must be at least {MIN_SECRET_LENGTH} characters"
        )
    return value.encode()


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Brandmon-Signature` value a caller sends for `body` at `timestamp`."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class Authenticator:
    """Checks a request's headers and body; remembers accepted signatures for the replay window."""

    def __init__(
        self, *, token: bytes | None, secret: bytes | None, clock: Callable[[], float] = time.time
    ) -> None:
        if token is None and secret is None:
            raise ValueError("an authenticator needs a token or a secret")
        self._token_digest = hashlib.sha256(token).digest() if token is not None else None
        self._secret = secret
        self._clock = clock
        self._seen: dict[bytes, float] = {}  # signature digest -> when it can no longer be replayed
        self._swept = 0.0

    def check(self, headers: Mapping[str, str], body: bytes) -> bytes | None:
        """Raise `AuthError` unless the request is authentic. Returns the signature digest that was
        reserved against replays (release it with `release` if the request is not acknowledged)."""
        if self._secret is not None and "X-Brandmon-Signature" in headers:
            return self._check_signature(self._secret, headers, body)
        authorization = headers.get("Authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        if self._token_digest is not None and scheme.lower() == "bearer" and credentials:
            presented = hashlib.sha256(credentials.strip().encode()).digest()
            if hmac.compare_digest(presented, self._token_digest):
                return None
            raise AuthError(401, "wrong bearer token")
        wanted = " or ".join(
            name
            for name, configured in (
                ("Authorization: Bearer", self._token_digest),
                ("X-Brandmon-Signature", self._secret),
            )
            if configured is not None
        )
        raise AuthError(401, f"missing credentials: send {wanted}")

    def release(self, digest: bytes) -> None:
        self._seen.pop(digest, None)

    def _check_signature(self, secret: bytes, headers: Mapping[str, str], body: bytes) -> bytes:
        timestamp = headers.get("X-Brandmon-Timestamp", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise AuthError(401, "X-Brandmon-Timestamp must be Unix seconds")
        presented = headers["X-Brandmon-Signature"].strip()
        expected = signature(secret, timestamp, body)
        if not hmac.compare_digest(presented.lower().encode(), expected.encode()):
            raise AuthError(401, "wrong signature")
        now = self._clock()
        if abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
            raise AuthError(401, f"timestamp is more than {REPLAY_WINDOW_SECONDS} s from the server's clock")
        digest = bytes.fromhex(expected.removeprefix("sha256="))
        self._sweep(now)
        if digest in self._seen:
            raise AuthError(409, "replayed request: this signature was already received")
        if len(self._seen) >= MAX_REMEMBERED:
            raise AuthError(503, "too many recent requests to remember; retry shortly")
        self._seen[digest] = int(timestamp) + REPLAY_WINDOW_SECONDS + 1
        return digest

    def _sweep(self, now: float) -> None:
        """Forget signatures whose timestamp left the window (at most once a second)."""
        if now - self._swept < 1.0:
            return
        self._swept = now
        for digest in [d for d, until in self._seen.items() if until < now]:
            del self._seen[digest]
