"""Who may do what, declared once (issue 24.1): every command and sub-command states its role next to its
registration, the router checks it before the handler runs, and city admins are appointed without a restart."""

from __future__ import annotations

from pathlib import Path

from nonebug import App as NBApp

from bot.app import App, set_app
from bot.roles import Role
from plugins._registry import COMMANDS
from tests.conftest import make_settings, say
from tests.fake import ADMIN, group_msg, private_msg

M, C, P = Role.MEMBER, Role.CITY_ADMIN, Role.PROVINCE_ADMIN

# Every command (and sub-command) with who may use it. A new command, or a new sub-command of a command with a
# table, fails here until it says who may use it. "<args>" is a command given arguments that are no sub-command.
EXPECTED = {
    "帮助": M, "help": M, "菜单": M,
    "注册": M, "我的单位": M, "解绑": M, "查询": M, "已转发": M, "已报送": M, "已提交": M,
    "粉丝": M, "粉丝数": M, "更新": M, "账号": M,
    "审核": C, "未绑定": P, "导出": C, "僵尸号": C, "发送记录": P, "备案": C,
    "后台": C, "管理后台": C, "状态": P, "运行状态": P,
    "统发": M, "统发 <args>": C, "统发 进度": M, "统发 统计": M, "统发 催办": C, "统发 代确认": C, "统发 补登": C,
    "统发 列表": C, "统发 结束": C, "统发 撤回": C,
    "报送": M, "报送 进度": M, "报送 表格": M, "报送 领表": M, "报送 文件": M,
    "报送 新建": C, "报送 发起": C, "报送 登记": C, "报送 代登记": C, "报送 催办": C, "报送 催报": C,
    "报送 列表": C, "报送 结束": C, "报送 待确认": P, "报送 丢弃": P, "报送 模板": P, "报送 接受": C,
    "报送 上报": C, "报送 退回": C,
    "报送 汇总": P, "报送 打包": P,
    "单位": M, "单位 列表": M, "单位 添加": P, "单位 新增": P, "单位 别名": P, "单位 简称": P, "单位 改名": P,
    "单位 删除": P, "单位 上级": C, "单位 下级": C,
    "管理员": M, "管理员 任命": P, "管理员 撤销": P, "管理员 列表": P,
    "群": C, "群 归属": P,
}  # fmt: skip


def declared() -> dict[str, Role]:
    out: dict[str, Role] = {}
    for name, cmd in COMMANDS.items():
        out[name] = cmd.may.role
        for word, need in cmd.subs.items():
            out[f"{name} {word}"] = need.role
        if cmd.with_args is not None:
            out[f"{name} <args>"] = cmd.with_args.role
    for key in ("一键统发",):  # an alias: the same declaration as its first name
        out.pop(key, None)
    for key in [k for k in out if k.startswith("一键统发 ")]:
        out.pop(key)
    return out


def test_every_command_lists_who_may_use_it() -> None:
    assert declared() == EXPECTED


def test_no_need_admin_call_is_left_in_plugins() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "plugins"
    assert [p for p in root.rglob("*.py") if "need_admin(" in p.read_text(encoding="utf-8")] == []


CITY = 30001
OP = 20001


async def zhengzhou(core: App) -> None:
    await core.units.add("郑州市教育局", "市教育局", "郑州", actor="t")
    await core.units.add("郑州市金水区教育局", "县区教育局", "郑州", actor="t")
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    await core.units.add("洛阳市教育局", "市教育局", "洛阳", actor="t")


async def test_a_province_admin_appoints_a_city_admin_without_restart_and_it_is_audited(app: NBApp, core: App) -> None:
    await zhengzhou(core)
    assert (await core.roles.of(CITY))[0] is Role.MEMBER
    out = await say(app, core, group_msg(f"/管理员 任命 {CITY} 郑州市教育局", ADMIN))
    # the bureau's subtree: itself and the county bureau; a university belongs to the province
    # in the group the person is @-mentioned, never named by their QQ id (SPEC §12)
    assert "已任命 " in out[0]["text"] and " 为市级管理员" in out[0]["text"] and "共 2 个单位" in out[0]["text"]
    assert "30001" not in out[0]["text"] and str(CITY) in out[0]["ats"]
    role, scope = await core.roles.of(CITY)
    ids = {u.name: u.id for u in await core.units.all()}
    assert role is Role.CITY_ADMIN and ids["郑州市金水区教育局"] in scope
    assert ids["郑州大学"] not in scope and ids["洛阳市教育局"] not in scope
    async with core.db.read() as tx:
        row = await tx.one("SELECT actor, action, detail FROM audit WHERE action='任命市级管理员'")
    assert row["actor"] == str(ADMIN) and "30001" in row["detail"] and "郑州市教育局" in row["detail"]
    out = await say(app, core, private_msg("/管理员", CITY))
    assert "你是市级管理员" in out[0]["text"] and "郑州市教育局及其下级单位" in out[0]["text"]
    out = await say(app, core, private_msg("/管理员 列表", ADMIN))
    assert "郑州市教育局：30001" in out[0]["text"]
    out = await say(app, core, group_msg(f"/管理员 撤销 {CITY}", ADMIN))
    assert " 的市级管理员任命：郑州市教育局" in out[0]["text"] and "30001" not in out[0]["text"]
    assert str(CITY) in out[0]["ats"]
    assert (await core.roles.of(CITY))[0] is Role.MEMBER


async def test_appointing_is_province_only_and_the_refusal_says_what_one_may_do(app: NBApp, core: App) -> None:
    await zhengzhou(core)
    await core.roles.appoint(str(ADMIN), str(CITY), "郑州市教育局")
    for who in (CITY, OP):
        out = await say(app, core, group_msg(f"/管理员 任命 {OP} 郑州大学", who))
        assert len(out) == 1 and "只有" in out[0]["text"] and "管理员可以任命市级管理员" in out[0]["text"]
        assert "/帮助" in out[0]["text"]
    assert "只有省级管理员" in out[0]["text"] or "你是市级管理员" not in out[0]["text"]
    out = await say(app, core, group_msg("/单位 删除 郑州大学", CITY))
    assert "只有省级管理员可以删除单位（你是市级管理员，管理范围：郑州市教育局及其下级单位）" in out[0]["text"]
    assert "/单位 列表" in out[0]["text"]  # what they may do instead
    assert await core.units.find("郑州大学") is not None
    out = await say(app, core, group_msg("/统发 催办 1", OP))
    assert "只有管理员可以催办统发" in out[0]["text"] and "/统发 进度" in out[0]["text"]


async def test_appointing_an_unknown_unit_or_no_person_says_what_to_type(app: NBApp, core: App) -> None:
    await zhengzhou(core)
    out = await say(app, core, group_msg("/管理员 任命 郑州市教育局", ADMIN))
    assert "请写对方的QQ号或 @ 对方" in out[0]["text"]
    out = await say(app, core, group_msg(f"/管理员 任命 {CITY} 不存在的单位", ADMIN))
    assert "不存在的单位" in out[0]["text"] and (await core.roles.of(CITY))[0] is Role.MEMBER
    out = await say(app, core, group_msg(f"/管理员 撤销 {CITY}", ADMIN))
    assert "不是市级管理员" in out[0]["text"]


async def test_a_city_admin_gets_a_single_use_dashboard_link_bound_to_them(app: NBApp, tmp_path: Path) -> None:
    from plugins.dashboard import links

    core = App(make_settings(tmp_path, dashboard_token="t0ken-long-enough"))
    await core.open()
    set_app(core)
    try:
        await zhengzhou(core)
        await core.roles.appoint(str(ADMIN), str(CITY), "郑州市教育局")
        (out,) = await say(app, core, private_msg("/后台", CITY))
        assert "管理后台（郑州市教育局及其下级单位）" in out["text"] and "只能用一次，10 分钟内有效" in out["text"]
        assert "令牌" not in out["text"]  # the office's token is not the city's business
        code = out["text"].split("/enter?c=")[1].split()[0]
        assert links.LINKS.spend(code) == (str(CITY), (await core.roles.of(CITY))[1])
        assert links.LINKS.spend(code) is None  # single use
        (out,) = await say(app, core, private_msg("/后台", ADMIN))  # the office: the token as before, and a link
        assert "输入登录令牌" in out["text"] and "/enter?c=" in out["text"]
    finally:
        set_app(None)
        await core.db.close()
