"""The OneBot gate: HTTP events need a configured secret and a valid signature; exposure is checked at start."""

from __future__ import annotations

import hashlib
import hmac

from nonebot.adapters.onebot.v11.config import Config
from nonebot.drivers import URL, Request

from alliance.gate import GuardedAdapter, check_exposure


def adapter(secret: str | None) -> GuardedAdapter:
    a = GuardedAdapter.__new__(GuardedAdapter)  # the routes are the driver's; only the handler is under test
    a.onebot_config = Config(onebot_secret=secret)
    return a


def post(body: bytes, **headers: str) -> Request:
    return Request("POST", URL("http://127.0.0.1/onebot/v11/"), headers={"x-self-id": "10000", **headers}, content=body)


def sign(secret: str, body: bytes) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


async def test_http_events_are_refused_without_a_secret() -> None:
    body = b"[]"
    for headers in ({}, {"x-signature": sign("anything", body)}):
        r = await adapter(None)._handle_http(post(body, **headers))
        assert r.status_code == 403


async def test_http_events_need_the_right_signature_when_a_secret_is_set() -> None:
    body = b"[]"  # no event in it: a signed post is taken, and nothing registers a bot
    assert (await adapter("s3cret")._handle_http(post(body))).status_code == 401
    assert (await adapter("s3cret")._handle_http(post(body, **{"x-signature": sign("wrong", body)}))).status_code == 403
    assert (
        await adapter("s3cret")._handle_http(post(body, **{"x-signature": sign("s3cret", body)}))
    ).status_code == 204


def test_exposure_needs_a_token_off_the_loopback_and_for_forward_websocket() -> None:
    assert check_exposure("127.0.0.1", "", set()) is None
    assert check_exposure("::1", None, set()) is None
    assert check_exposure("0.0.0.0", "t0ken-long-enough", set()) is None
    assert "ONEBOT_ACCESS_TOKEN" in (check_exposure("0.0.0.0", "", set()) or "")
    assert "ONEBOT_ACCESS_TOKEN" in (check_exposure("192.168.1.5", None, set()) or "")
    assert "ONEBOT_WS_URLS" in (check_exposure("127.0.0.1", "", {"ws://127.0.0.1:3001"}) or "")
