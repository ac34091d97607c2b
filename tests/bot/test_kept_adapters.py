"""NoneBot's validation with one pydantic TypeAdapter per type (alliance.main.validate_with_kept_adapters)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import nonebot.compat as compat
import pydantic
import pytest
from nonebot.adapters.onebot.v11 import Adapter, GroupMessageEvent

from alliance.main import validate_with_kept_adapters

EVENT = {
    "time": 1_765_000_000,
    "self_id": 10000,
    "post_type": "message",
    "message_type": "group",
    "sub_type": "normal",
    "message_id": 123,
    "group_id": 555,
    "user_id": 1234,
    "anonymous": None,
    "font": 0,
    "message": [{"type": "text", "data": {"text": "/已转发 3 "}}, {"type": "at", "data": {"qq": "10000"}}],
    "raw_message": "/已转发 3 [CQ:at,qq=10000]",
    "sender": {"user_id": 1234, "nickname": "张三", "card": "郑大", "role": "member"},
}


@pytest.fixture
def stock_afterwards() -> Iterator[None]:
    stock = compat.type_validate_python
    holders = [m for n, m in list(sys.modules.items()) if n.split(".")[0] == "nonebot"]
    had = {id(m): m.__dict__.get("type_validate_python") for m in holders}
    yield
    for m in holders:
        if had[id(m)] is not None:
            m.type_validate_python = had[id(m)]  # type: ignore[attr-defined]
    assert compat.type_validate_python is stock


def test_events_parse_as_before_and_no_adapter_is_built_again(
    stock_afterwards: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = Adapter.json_to_event(dict(EVENT))
    bad = dict(EVENT, user_id="不是数字")
    bad_before = Adapter.json_to_event(dict(bad))
    validate_with_kept_adapters()
    validate_with_kept_adapters()  # twice: still one layer
    assert Adapter.json_to_event(dict(EVENT)) == before  # the first parse builds and keeps the adapters
    built: list[object] = []
    real = pydantic.TypeAdapter.__init__

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(args[0] if args else None)
        real(self, *args, **kwargs)

    monkeypatch.setattr(pydantic.TypeAdapter, "__init__", counted)
    parsed = [Adapter.json_to_event(dict(EVENT, message_id=i)) for i in range(5)]
    assert built == []  # stock NoneBot built one for the event and one per segment, every time
    assert all(isinstance(e, GroupMessageEvent) for e in parsed)
    assert [e.get_plaintext() for e in parsed] == [before.get_plaintext()] * 5
    assert parsed[0].original_message == before.original_message
    assert repr(Adapter.json_to_event(dict(bad))) == repr(bad_before)  # a bad event: as before
