"""Hostile webhook requests, below HTTP: any body is accepted whole or refused with 400/413 (and the
stream agrees: what the webhook accepts is never dead-lettered), and any headers are authenticated
or refused with 401/409/503, never another exception; a request passes only with the right token
or a fresh signature of its exact body, and a signature passes once. The HTTP path (sizes, lying
Content-Lengths, the sink) is tested in `test_connector_webhook.py`. Shared with `bench.fuzz`."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from multidict import CIMultiDict

from brandmon.schemas import MAX_MESSAGE_BYTES
from connectors.webhook_auth import REPLAY_WINDOW_SECONDS, Authenticator, AuthError, signature
from connectors.webhook_body import BodyError, parse_body
from streams.decode import decode_raw
from tests.test_hostile_input import SUITE, Target, hostile_text, raw_values

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
SECRET = b"webhook-secret-0123456789"
TOKEN = b"webhook-token-0123456789"
NOW = 1_700_000_000


def check_body(body: bytes) -> None:
    try:
        mentions, deletions = parse_body(body)
    except BodyError as error:
        check_refused_body(body, error)
        return
    assert mentions or deletions
    decoded = decode_raw(body)
    if len(body) <= MAX_MESSAGE_BYTES:
        assert decoded.rejected == []
        assert decoded.mentions == mentions
        assert list(decoded.deletions) == deletions


def check_refused_body(body: bytes, error: BodyError) -> None:
    assert error.status in (400, 413)
    assert str(error)
    if error.status == 400 and len(body) <= MAX_MESSAGE_BYTES:
        assert decode_raw(body).rejected, "the stream would have taken what the webhook refused"


@SUITE
@given(raw_values())
@example(b'{"mentions": [' + b"[" * 300 + b"]" * 300 + b"]}")
@example(b'{"mentions": [], "deletions": [{"id": "rss:1", "deleted_at": "0001-01-01T00:00:00+01:00"}]}')
def test_a_body_is_taken_whole_or_refused_and_the_stream_agrees(body: bytes) -> None:
    check_body(body)


@dataclass(frozen=True)
class Request:
    headers: CIMultiDict[str]
    body: bytes
    authentic: bool
    """Built with the right token, or signed with the secret for this body at a fresh timestamp."""


def _signed(body: bytes, at: int, *, secret: bytes = SECRET, signed: bytes | None = None) -> dict[str, str]:
    value = signature(secret, str(at), body if signed is None else signed)
    return {"X-Brandmon-Timestamp": str(at), "X-Brandmon-Signature": value}


def _mangled(value: str, at: int) -> str:
    """`value` with one character changed to another that cannot mean the same."""
    at %= len(value)
    replacement = "0" if value[at] != "0" else "1"
    return value[:at] + replacement + value[at + 1 :]


KINDS = ["token", "signature", "stale", "other body", "other secret", "mangled", "hostile", "none"]
AUTH_HEADERS = ["Authorization", "X-Brandmon-Signature", "X-Brandmon-Timestamp"]
hostile_values = st.one_of(
    hostile_text, st.sampled_from(["Bearer", "Bearer ", "sha256=", "\u0661\u0662\u0663"])
)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    body = draw(st.one_of(st.binary(max_size=64), st.just(b'{"mentions": []}')))
    fresh = NOW + draw(st.integers(-REPLAY_WINDOW_SECONDS, REPLAY_WINDOW_SECONDS))
    stale = NOW + draw(st.sampled_from([-1, 1])) * draw(st.integers(REPLAY_WINDOW_SECONDS + 1, 10**12))
    kind = draw(
        st.sampled_from(
            ["token", "signature", "stale", "other body", "other secret", "mangled", "hostile", "none"]
        )
    )
    headers: dict[str, str] = {}
    authentic = kind in ("token", "signature")
    if kind == "token":
        headers["Authorization"] = draw(st.sampled_from(["Bearer ", "bearer ", "BEARER  "])) + TOKEN.decode()
    elif kind == "signature":
        headers |= _signed(body, fresh)
        cased = draw(st.sampled_from([str.lower, str.upper, lambda s: f" {s}\t"]))
        headers["X-Brandmon-Signature"] = cased(headers["X-Brandmon-Signature"])
    elif kind == "stale":
        headers |= _signed(body, stale)
    elif kind == "other body":
        headers |= _signed(body, fresh, signed=body + draw(st.binary(min_size=1, max_size=4)))
    elif kind == "other secret":
        headers |= _signed(body, fresh, secret=SECRET + b"x")
    elif kind == "mangled":
        headers |= _signed(body, fresh) | {"Authorization": "Bearer " + TOKEN.decode()}
        name = draw(st.sampled_from(["X-Brandmon-Signature", "X-Brandmon-Timestamp", "Authorization"]))
        headers[name] = _mangled(headers[name], draw(st.integers(len("sha256="), 10**6)))
        if name == "Authorization":
            del headers["X-Brandmon-Signature"]
    elif kind == "hostile":
        for name in draw(
            st.lists(st.sampled_from(["Authorization", "X-Brandmon-Signature", "X-Brandmon-Timestamp"]))
        ):
            headers[name] = draw(
                st.one_of(hostile_text, st.sampled_from(["Bearer", "Bearer ", "sha256=", "١٢٣"]))
            )
    return Request(CIMultiDict(headers), body, authentic)


def check_auth(request: Request) -> None:
    auth = Authenticator(token=TOKEN, secret=SECRET, clock=lambda: NOW)
    try:
        reserved = auth.check(request.headers, request.body)
    except AuthError as refused:
        check_refusal(request, refused)
        return
    assert request.authentic
    if reserved is None:  # a bearer token: no replay protection (documented)
        return
    with pytest.raises(AuthError) as replay:
        auth.check(request.headers, request.body)
    assert replay.value.status == 409
    auth.release(reserved)
    assert auth.check(request.headers, request.body) == reserved


def check_refusal(request: Request, refused: AuthError) -> None:
    assert not request.authentic
    assert refused.status == 401
    assert refused.reason
    assert SECRET.decode() not in refused.reason
    assert TOKEN.decode() not in refused.reason


@SUITE
@given(requests())
def test_only_the_token_or_a_fresh_signature_of_the_exact_body_passes_and_only_once(request: Request) -> None:
    check_auth(request)


def fuzz_targets() -> list[Target]:
    return [
        Target("webhook body", raw_values(), check_body),
        Target("webhook authentication", requests(), check_auth),
    ]
