"""Reddit's credentials: the app's id and secret, and the application-only token they buy.

Split from `connectors.reddit` so everything that touches a secret sits in one short module that
can be reviewed on its own: the listing logic never sees the id or the secret, only a token. The
values come from an environment variable (`<name>_env`) or a file (`<name>_file`) named in the
options, and are read when the source is created, so a missing one fails at start-up. Errors name
where a secret was looked for, never its value; the token is kept in memory only (never in the
cursor) and fetched again a minute before Reddit says it expires, or at once when a listing
refuses it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from connectors.http import RetryingClient


class RedditAuthError(Exception):
    """The token was refused: the app's id or secret is wrong, or the app lacks API access."""


def load_secret(options: Mapping[str, Any], name: str) -> str:
    """The value in the environment variable `<name>_env` or the file `<name>_file`."""
    if variable := options.get(f"{name}_env"):
        value, where = os.environ.get(str(variable), ""), f"environment variable {variable}"
    elif path := options.get(f"{name}_file"):
        try:
            value, where = Path(str(path)).read_text(encoding="utf-8").strip(), f"file {path}"
        except OSError as error:
            raise ValueError(f"reddit: cannot read {name}_file {path}: {error.strerror}") from None
    else:
        raise ValueError(f"reddit: set option {name}_env or {name}_file")
    if not value:
        raise ValueError(f"reddit: {name} from {where} is empty")
    return value


class AppToken:
    """An application-only (client credentials) token for the app configured in `options`."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self._credentials = (load_secret(options, "client_id"), load_secret(options, "client_secret"))
        self._token, self._token_expires = "", 0.0

    async def get(self, auth: RetryingClient, renew: bool = False) -> str:
        """The token, fetched (from `auth`, www.reddit.com) again a minute before it expires."""
        if self._token and not renew and time.monotonic() < self._token_expires:
            return self._token
        form = {"grant_type": "client_credentials"}
        try:
            response = await auth.request("POST", "/api/v1/access_token", data=form, auth=self._credentials)
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            raise RedditAuthError(
                f"reddit: the token request answered {status}; check the app's id and secret"
            ) from None
        body = response.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RedditAuthError("reddit: the token response carries no access_token")
        lifetime = body.get("expires_in")
        self._token = token
        self._token_expires = (
            time.monotonic() + (lifetime if isinstance(lifetime, int | float) else 3600) - 60
        )
        return token

    async def authorized_get(
        self, auth: RetryingClient, api: RetryingClient, path: str, params: Mapping[str, str]
    ) -> httpx.Response:
        """GET `path` from `api` (oauth.reddit.com) with the token; an answer of 401 gets one fresh
        token and one more try, and a second 401 raises. Other error statuses are returned."""
        for attempt in range(2):
            bearer = {"Authorization": f"bearer {await self.get(auth, renew=attempt > 0)}"}
            try:
                response = await api.get(path, params=params, headers=bearer)
            except httpx.HTTPStatusError as error:
                response = error.response
                if response.status_code == 401 and attempt == 0:
                    continue  # expired early or revoked: one fresh token
            break
        if response.status_code == 401:
            raise RedditAuthError(f"reddit: {path} refused a fresh token (401)")
        return response
