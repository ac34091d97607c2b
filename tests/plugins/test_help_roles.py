"""/帮助 says who you are among 省级管理员 / 市级管理员（管理范围：…）/ 联络员 / 群成员 and lists what that role may use,
read from the commands' own declarations (plugins/_registry.py)."""

from __future__ import annotations

from nonebug import App as NBApp

from bot.app import App
from tests.conftest import say
from tests.fake import ADMIN, GROUP, group_msg, private_msg

CITY, OP, MEMBER = 30001, 20001, 20009


async def _tree(core: App) -> None:
    await core.units.add("郑州市教育局", "市教育局", "郑州", actor="t")
    await core.units.add("郑州市金水区教育局", "县区教育局", "郑州", actor="t")
    await core.roles.appoint(str(ADMIN), str(CITY), "郑州市教育局")
    a, _ = await core.units.registrations.apply(OP, "张三", GROUP, "郑州市金水区教育局")
    await core.units.registrations.approve([a.id], actor="t")


async def helped(app: NBApp, core: App, who: int) -> list[str]:
    (out,) = await say(app, core, private_msg("/帮助", who) if who != MEMBER else group_msg("/帮助", who))
    return out["text"].splitlines()


async def test_help_names_each_role_and_what_it_may_use(app: NBApp, core: App) -> None:
    await _tree(core)
    province = await helped(app, core, ADMIN)
    assert province[0] == "联盟助手 — 你是省级管理员（管理全省），可以用："
    assert any(line.startswith("/管理员 — ") and "（任命、撤销、列表）" in line for line in province)
    assert any(line.startswith("/报送 — ") and "汇总" in line and "上报" in line for line in province)
    assert any(line.startswith("/后台 — ") for line in province)

    city = await helped(app, core, CITY)
    assert city[0] == "联盟助手 — 你是市级管理员（管理范围：郑州市教育局及其下级单位），可以用："
    report = next(line for line in city if line.startswith("/报送 — "))
    assert "上报" in report and "退回" in report and "汇总" not in report  # 汇总 is the province's
    assert any(
        line.startswith("/统发 — ") and line.endswith("）") and "催办" in line.rsplit("（", 1)[1] for line in city
    )
    assert any(line.startswith("/后台 — ") for line in city) and any(line.startswith("/群 — ") for line in city)
    assert not any(line.startswith("/管理员 — ") and "（任命" in line for line in city)  # the province's
    assert any("/报送 上报" in line for line in city)

    operator = await helped(app, core, OP)
    assert operator[0] == "联盟助手 — 你是“郑州市金水区教育局”的联络员，可以用："
    assert any(line.startswith("/已报送 — ") for line in operator)
    for admin_only in ("/后台", "/审核", "/导出", "/群 "):
        assert not any(line.startswith(admin_only) for line in operator), admin_only
    broadcast = next(line for line in operator if line.startswith("/统发 — "))
    assert not broadcast.endswith("）")  # no admin sub-commands listed after the summary

    member = await helped(app, core, MEMBER)
    assert member[0] == "联盟助手 — 你是群成员（还没绑定单位），可以用："
    assert any(line.startswith("/注册 — ") for line in member) and any("先发 /注册" in line for line in member)
    assert not any(line.startswith("/后台") for line in member)


async def test_help_on_a_command_says_who_may_use_it(app: NBApp, core: App) -> None:
    await _tree(core)
    (out,) = await say(app, core, private_msg("/帮助 后台", OP))
    assert out["text"] == "“后台”是市级管理员的命令。发 /帮助 查看你能用的命令。"
    (out,) = await say(app, core, private_msg("/帮助 后台", CITY))
    assert out["text"].startswith("【/后台】") and "市级管理员可用" in out["text"]
    (out,) = await say(app, core, private_msg("/帮助 管理员", CITY))
    assert out["text"].startswith("【/管理员】")
