"""The program's entry (`python -m bot`, `python -m alliance`): start the bot; `import-units FILE` imports a roster; `demo`; `backup [DIR]` / `restore ARCHIVE`."""

from __future__ import annotations

import argparse
import asyncio
import pkgutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_settings, setup_warnings

FIRST_PLUGINS = ("system", "help", "registry", "accounts")


def load_plugins() -> None:
    """Load our plugins: the basic ones first (their order is the order of /帮助), then the rest by name."""
    import nonebot

    import plugins

    names = [m.name for m in pkgutil.iter_modules(plugins.__path__) if not m.name.startswith("_")]
    for name in sorted(names, key=lambda n: (FIRST_PLUGINS.index(n) if n in FIRST_PLUGINS else len(FIRST_PLUGINS), n)):
        nonebot.load_plugin(f"plugins.{name}")


def skip_unlogged_levels(level: int | str, sink: object = None) -> None:
    """Give NoneBot's console handler the configured level as its own, so a record below it is dropped at once.

    NoneBot adds that handler at level 0 and filters by LOG_LEVEL afterwards: each of its debug and trace calls
    (several per event: one per matcher checked, one per priority) was built, patched with the plugin's name and
    only then thrown away. NoneBot's two bookkeeping lines around each event are left out below DEBUG
    (`bot.logfile.without_bookkeeping`, the file's filter too).
    """
    from nonebot import log as nonebot_log
    from nonebot import logger

    from bot.logfile import without_bookkeeping

    try:
        logger.remove(nonebot_log.logger_id)
    except ValueError:  # already replaced (or removed by someone else): leave the logging as it is
        return
    routine = without_bookkeeping(level)
    nonebot_log.logger_id = logger.add(
        sys.stdout if sink is None else sink,
        level=level,
        diagnose=False,
        filter=lambda record: nonebot_log.default_filter(record) and routine(record),
        format=nonebot_log.default_format,
    )


def validate_with_kept_adapters() -> None:
    """Give NoneBot one pydantic `TypeAdapter` per type instead of one per call.

    `nonebot.compat.type_validate_python` builds a `TypeAdapter` (a core schema and its validator) each time it is
    called: for every event (`Adapter.json_to_event`) and for every segment of every message (`Message._validate`),
    about 80 of the 100 µs an event's parsing takes (bench/README.md, "Timings behind the code"). The modules that
    took the function by name get this one too; what is validated, and how, does not change.
    """
    from functools import cache

    import nonebot.compat as compat
    from pydantic import TypeAdapter

    stock = compat.type_validate_python
    if getattr(stock, "kept_adapters", False):
        return

    @cache
    def adapter(type_: Any) -> TypeAdapter[Any]:
        return TypeAdapter(type_)

    def type_validate_python(type_: Any, data: Any) -> Any:
        try:
            kept = adapter(type_)
        except TypeError:  # a type that cannot be a key: as before
            kept = TypeAdapter(type_)
        return kept.validate_python(data)

    type_validate_python.kept_adapters = True  # type: ignore[attr-defined]
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "nonebot" and getattr(module, "type_validate_python", None) is stock:
            module.type_validate_python = type_validate_python  # type: ignore[attr-defined]


# ---------------------------------------------------------------- issue 25.1/25.3: the data folder, backup, restore

_run_lock = None  # the data folder's lock, held for as long as the bot runs


def prepare_data(settings: Settings) -> str | None:
    """Before the bot starts: hold the data folder's lock (restore refuses while it is held) and bring the database
    up to this version's schema. A reason it cannot start (another bot on this folder, a database newer than the
    code, a failed migration), or None."""
    global _run_lock
    from bot.backup import BotRunning, RunLock
    from bot.db import Database, MigrationFailed, SchemaTooNew

    lock = RunLock(settings.data_dir)
    try:
        lock.acquire()
    except BotRunning as e:
        return f"{e}。同一个数据目录只能运行一个机器人；请先停止它（如 sudo systemctl stop alliance-bot）。"

    async def migrate() -> None:
        db = Database(settings.db_path)
        try:
            await db.open()
        finally:
            await db.close()

    try:
        asyncio.run(migrate())
    except (SchemaTooNew, MigrationFailed) as e:
        lock.release()
        return str(e)
    _run_lock = lock
    return None


def backup_command(settings: Settings, dest: str | None) -> int:
    """`python -m bot backup [DIR]`: a consistent copy while the bot runs, into one dated archive."""
    from bot import clock
    from bot.backup import BackupError, make_backup

    folder = Path(dest) if dest else settings.backup_dir
    clock.set_tz(settings.tzinfo)
    try:
        path = make_backup(settings.data_dir, folder, clock.now())
    except (BackupError, OSError, sqlite3.Error) as e:
        print(f"备份失败：{e}", file=sys.stderr)
        return 1
    print(f"已备份到 {path}（{path.stat().st_size / 1024 / 1024:.1f} MB）。恢复：python -m bot restore {path}")
    return 0


def restore_command(settings: Settings, archive: str) -> int:
    """`python -m bot restore ARCHIVE`: refused while the bot runs; otherwise put the backup in place, checked."""
    from bot import clock
    from bot.backup import BackupError, BotRunning, restore

    clock.set_tz(settings.tzinfo)
    try:
        done = restore(Path(archive), settings.data_dir, clock.now())
    except BotRunning as e:
        print(
            f"不能恢复：{e}，机器人正在运行。请先停止机器人（如 sudo systemctl stop alliance-bot），"
            f"再运行 python -m bot restore {archive}",
            file=sys.stderr,
        )
        return 1
    except (BackupError, OSError, sqlite3.Error) as e:
        print(f"恢复失败：{e}。原来的数据没有改动。", file=sys.stderr)
        return 1
    print(done.summary())
    return 0


# ----------------------------------------------------------------


def start_bot(settings: Settings) -> int:
    """Initialise NoneBot with the OneBot v11 adapter (HTTP event posting closed), load our plugins, run until stopped."""
    import nonebot
    from nonebot.adapters.onebot.v11.config import Config as OneBotConfig
    from pydantic import ValidationError

    from alliance.gate import GuardedAdapter, check_exposure
    from bot.app import App, set_app

    problem = prepare_data(settings)  # issue 25: one bot per data folder; the schema upgraded (or refused) first
    if problem:
        print(f"启动失败：{problem}", file=sys.stderr)
        return 2
    try:
        nonebot.init(
            command_start={"/", "／"},
            command_sep={"."},
            api_timeout=settings.alliance_send_timeout,
            apscheduler_autostart=True,
        )
        driver = nonebot.get_driver()
        onebot = nonebot.get_plugin_config(OneBotConfig)
    except ValidationError as e:  # NoneBot's own keys (HOST, PORT, ONEBOT_*): named like ours, no traceback
        err = e.errors()[0]
        key = str(err["loc"][0]).upper() if err["loc"] else "?"
        print(f"启动失败：配置项 {key} 的值有误: {err['msg']}（当前值: {err.get('input')!r}）", file=sys.stderr)
        return 2
    # issue 25.5: logs also go to a rotated file (ALLIANCE_LOG_FILE, default data/logs/bot.log)
    from bot.logfile import log_to_file

    log_to_file(settings, driver.config.log_level)
    problem = check_exposure(driver.config.host, onebot.onebot_access_token, onebot.onebot_ws_urls)
    if problem:
        print(f"启动失败：{problem}", file=sys.stderr)
        return 2
    if not onebot.onebot_access_token:
        nonebot.logger.warning(
            "ONEBOT_ACCESS_TOKEN 为空：本机上的任何程序都能连上机器人。正式使用请设置一个长随机令牌。"
        )
    for warning in setup_warnings(settings):
        nonebot.logger.warning(warning)
    skip_unlogged_levels(driver.config.log_level)
    validate_with_kept_adapters()
    driver.register_adapter(GuardedAdapter)
    set_app(App(settings))
    nonebot.load_plugin("nonebot_plugin_apscheduler")
    load_plugins()
    # no uvicorn proxy headers: the dashboard decides itself whom to trust for X-Forwarded-For
    nonebot.run(proxy_headers=False, forwarded_allow_ips="")
    return 0


async def _import_units(settings: Settings, path: str) -> int:
    from bot.app import App
    from bot.errors import UserError
    from bot.roster import import_file

    app = App(settings)
    await app.open()
    try:
        result = await import_file(app.units, path)
    except UserError as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        await app.db.close()
    print(f"{path}：{result.summary()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:  # the demo runs on its own settings, not the project's .env
        from sim.demo import main as demo_main

        return demo_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bot", description="联盟助手")
    subs = parser.add_subparsers(dest="cmd")
    subs.add_parser("run", help="启动机器人（默认）")
    subs.add_parser("demo", help="不用 QQ，在终端里试用机器人（临时数据库，河南示例名册）")
    imp = subs.add_parser("import-units", help="从 CSV 或 XLSX 导入单位名册（重复导入不会重复添加）")
    imp.add_argument("file")
    bak = subs.add_parser("backup", help="备份数据库和报送文件到一个带日期的压缩包（机器人运行时也可以）")
    bak.add_argument("dir", nargs="?", help="放备份的目录（默认 data/backups，见 ALLIANCE_BACKUP_DIR）")
    res = subs.add_parser("restore", help="从备份压缩包恢复（先停止机器人）")
    res.add_argument("archive")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as e:
        print(f"启动失败：{e}", file=sys.stderr)
        return 2
    if args.cmd == "import-units":
        return asyncio.run(_import_units(settings, args.file))
    if args.cmd == "backup":
        return backup_command(settings, args.dir)
    if args.cmd == "restore":
        return restore_command(settings, args.archive)
    return start_bot(settings)


if __name__ == "__main__":
    sys.exit(main())
