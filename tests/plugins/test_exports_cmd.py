"""/导出 through NoneBot's handlers (nonebug): the file goes to the admin privately (never to a group), or its path
is given."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from unittest.mock import ANY

import pytest
from nonebot.adapters.onebot.v11 import Bot
from nonebot.adapters.onebot.v11.exception import ActionFailed, NetworkError
from nonebug import App as NBApp
from openpyxl import load_workbook

from bot import clock
from bot.app import App
from tests.conftest import sent
from tests.fake import ADMIN, GROUP, group_msg, private_msg

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=clock.tz())
OP = 20001


@pytest.fixture(autouse=True)
def frozen() -> None:
    clock.freeze(NOW)


def export_path(core: App, stem: str) -> Path:
    return (core.settings.data_dir / "exports" / f"{stem}-20260310-090000.xlsx").resolve()


async def run(app: NBApp, core: App, event: object, *apis: tuple[str, dict, Exception | None]) -> list[dict]:
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="10000")
        for name, data, exc in apis:
            ctx.should_call_api(name, data, None, exc)
        await bot.handle_event(event)  # type: ignore[arg-type]
    return await sent(core)


@pytest.mark.parametrize("text,stem", [("/导出 统计表", "统计表"), ("/导出 备案表", "备案表")])
async def test_group_export_goes_to_the_admin_privately_with_one_line_in_the_group(
    app: NBApp, core: App, text: str, stem: str
) -> None:
    """Issue 21.8: `/导出 备案表` was 已上传到群文件, with 提交人/审核人 columns carrying QQ ids."""
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    path = export_path(core, stem)
    out = await run(
        app,
        core,
        group_msg(text, ADMIN),
        ("upload_private_file", {"user_id": ADMIN, "file": str(path), "name": path.name}, None),
    )  # no upload_group_file: nonebug fails on a call it was not told of
    assert path.is_file()
    assert load_workbook(path).active["A4"].value == "序号"
    assert len(out) == 1 and out[0]["target"] == ("group", str(GROUP)) and out[0]["ats"] == [str(ADMIN)]
    assert out[0]["text"].endswith(f"已私聊发给你：{path.name}") and "群文件" not in out[0]["text"]


async def test_private_export_uploads_privately(app: NBApp, core: App) -> None:
    path = export_path(core, "备案表")
    out = await run(
        app,
        core,
        private_msg("/导出 备案表", ADMIN),
        ("upload_private_file", {"user_id": ADMIN, "file": str(path), "name": path.name}, None),
    )
    assert out[0]["target"] == ("private", str(ADMIN)) and "已上传到私聊" in out[0]["text"]


async def test_refused_upload_says_where_the_file_is(app: NBApp, core: App) -> None:
    path = export_path(core, "汇总表")
    out = await run(
        app,
        core,
        group_msg("/导出 附件2", ADMIN),
        ("upload_private_file", {"user_id": ADMIN, "file": ANY, "name": ANY}, ActionFailed(retcode=1200, msg="no")),
    )
    assert path.is_file()
    assert "QQ 客户端拒绝上传" in out[0]["text"] and str(path) in out[0]["text"]
    assert "没有发到群里" in out[0]["text"]


async def test_upload_timeout_says_where_the_file_is(app: NBApp, core: App) -> None:
    out = await run(
        app,
        core,
        group_msg("/导出 汇总表", ADMIN),
        ("upload_private_file", {"user_id": ADMIN, "file": ANY, "name": ANY}, NetworkError("timeout")),
    )
    assert "上传超时" in out[0]["text"] and str(export_path(core, "汇总表")) in out[0]["text"]


async def test_operator_cannot_export(app: NBApp, core: App) -> None:
    out = await run(app, core, group_msg("/导出 统计表", OP))
    assert "只有管理员" in out[0]["text"]
    assert not (core.settings.data_dir / "exports").exists()


async def test_bad_arguments_show_usage(app: NBApp, core: App) -> None:
    out = await run(app, core, group_msg("/导出", ADMIN))
    assert "/导出 统计表" in out[0]["text"]
    out = await run(app, core, group_msg("/导出 统发", ADMIN))
    assert "编号" in out[0]["text"] and "/导出 统发 3" in out[0]["text"]
    out = await run(app, core, group_msg("/导出 统发 42", ADMIN))
    assert "没有编号为 42" in out[0]["text"]
    assert not (core.settings.data_dir / "exports").exists() or not list(
        (core.settings.data_dir / "exports").glob("*.xlsx")
    )


async def test_help_explains_export_and_dashboard(app: NBApp, core: App) -> None:
    out = await run(app, core, private_msg("/帮助 导出", ADMIN))
    assert "/导出 统计表" in out[0]["text"] and "/导出 统发 3" in out[0]["text"]
    out = await run(app, core, private_msg("/帮助 后台", ADMIN))
    assert "/后台" in out[0]["text"] and "DASHBOARD_TOKEN" not in out[0]["text"]
