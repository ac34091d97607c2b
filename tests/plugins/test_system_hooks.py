"""The QQ-client connection hooks: which connection's sender the outbox holds."""

from __future__ import annotations

from types import SimpleNamespace

from bot.app import App


async def test_a_late_disconnect_of_an_old_connection_leaves_the_new_one_attached(core: App) -> None:
    from plugins.system import _connected, _disconnected

    # NoneBot runs disconnect hooks in the driver's task group: the old connection's hook can run
    # after the client has already reconnected (same QQ id, new connection object).
    old, new = SimpleNamespace(self_id="10000"), SimpleNamespace(self_id="10000")
    await _connected(old)  # type: ignore[arg-type]
    await _connected(new)  # type: ignore[arg-type]
    await _disconnected(old)  # type: ignore[arg-type]
    assert core.outbox.connected
    await _disconnected(new)  # type: ignore[arg-type]
    assert not core.outbox.connected


async def test_a_disconnect_hook_never_detaches_a_sender_it_did_not_attach(core: App) -> None:
    from plugins.system import _disconnected

    async def sender(target_type: str, target_id: str, segments: list) -> str:
        return "1"

    core.outbox.attach(sender)
    await _disconnected(SimpleNamespace(self_id="10000"))  # type: ignore[arg-type]
    assert core.outbox.connected
