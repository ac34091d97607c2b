"""The /帮助 topics of every loaded plugin, in one fixed order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Settings

# The order /帮助 lists its topics in: what a newcomer needs first, then the daily work (NoneBot keeps the loaded
# plugins in a set, so their own order changed from run to run); topics not named here follow by name.
HELP_ORDER = (
    "帮助", "注册", "我的单位", "查询", "已转发", "统发", "已报送", "报送", "粉丝", "更新", "账号", "单位", "解绑",
    "审核", "备案", "僵尸号", "未绑定", "导出", "后台", "管理员", "发送记录",
)  # fmt: skip


@dataclass(frozen=True)
class Topic:
    """One /帮助 entry; a plugin lists its topics in `PluginMetadata(extra={"help": [...]})`."""

    name: str
    who: str
    summary: str
    detail: str | Callable[[Settings], str]  # a callable says the configured values (never a setting's name)

    def text(self, settings: Settings) -> str:
        return self.detail(settings) if callable(self.detail) else self.detail


def help_topics() -> list[Topic]:
    """Every loaded plugin's help topics, always in the same order (HELP_ORDER, then by name)."""
    from nonebot import get_loaded_plugins

    out: list[Topic] = []
    for plugin in get_loaded_plugins():
        meta = plugin.metadata
        if meta is not None:
            out.extend(t for t in meta.extra.get("help", []) if isinstance(t, Topic))
    rank = {name: i for i, name in enumerate(HELP_ORDER)}
    return sorted(out, key=lambda t: (rank.get(t.name, len(rank)), t.name))
