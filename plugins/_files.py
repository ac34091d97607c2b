"""Files the bot gives the QQ client to upload, and the client failures that get a clear answer (issue 22.3, 22.4).

`upload_group_file` / `upload_private_file` take `file`: NapCat (`packages/napcat-onebot/action/go-cqhttp/
UploadGroupFile.ts`) reads a path only if it exists on *its* disk, else hands the text to `uriToLocalFile`, which
takes `base64://`, `http(s)://` and `file://` and answers anything else with "未知文件类型"; so a client in Docker
(the most common NapCat deployment, NapCat #483, #964) refuses the bot's path. ALLIANCE_FILE_SEND says what to send:
`auto` (the default) sends the path and, when the client answers it cannot find it, the same file as base64 at once
and from then on for that account, and tells the log and the admins once what to set; `path` only the path;
`base64` always the content (up to FILE_BASE64_MAX_MB).

Pictures in a message follow the same setting (`picture_refused`): sent as `file://` (no 130 KB of base64 in each
call) unless the setting or what the account's client said calls for base64. A client that cannot see the path
refuses the whole message, so nothing was delivered and it goes again at once with the pictures inline: NapCat
(`packages/napcat-onebot/api/msg.ts` `handleOb11FileLikeMessage` → `napcat-common/src/file.ts` `uriToLocalFile`
takes `file://` as local without looking, then `api/file.ts` `createValidSendPicElement` → core `uploadFile` →
`calculateFileMD5` fails: "ENOENT: no such file or directory, open '…'", retcode 1200); LLOneBot
(`src/onebot11/transform/message/outgoing.ts` `handleOb11RichMedia` → `src/common/utils/file.ts` `uri2local`:
"路径不存在", retcode 1200).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from nonebot import logger
from nonebot.adapters.onebot.v11.exception import ActionFailed

from bot.app import App, current_app
from bot.config import FILE_BASE64_MAX_MB
from bot.outbox.records import SendFailed, SendUnknown
from bot.render import Msg

DOCKER_HINT = (
    "请在 .env 里设置 ALLIANCE_FILE_SEND=base64 后重启机器人（QQ 客户端在 Docker 里或另一台机器上时都应这样设）"
)

_MISSING = ("未知文件类型", "enoent", "no such file", "文件不存在", "路径不存在", "file not found", "not exist")
_FULL = ("空间不足", "空间已满", "容量不足", "容量已满", "存储空间", "space not enough", "no space", "space is full")
_UUID = ("real fileuuid not found", "fileuuid not found")

_base64_accounts: set[str] = set()  # accounts whose client was found not to see the bot's disk
_told: set[str] = set()  # what the admins were told about, once per run


class FileTooBig(Exception):
    """The file is over the base64 limit and the client cannot read the path."""


def _text(e: BaseException) -> str:
    info = getattr(e, "info", None) or {}
    if isinstance(info, dict):
        return f"{info.get('msg', '')} {info.get('message', '')} {info.get('wording', '')} {e}".lower()
    return str(e).lower()


def missing_path(e: BaseException) -> bool:
    """The client answered that it cannot find the file at the path given."""
    return any(k in _text(e) for k in _MISSING)


def storage_full(e: BaseException) -> bool:
    """The group's file storage is full (NapCat #1466)."""
    return any(k in _text(e) for k in _FULL)


def file_uuid_lost(e: BaseException) -> bool:
    """NapCat lost track of an uploaded file (`real fileUUID not found!`, NapCat #1267)."""
    return any(k in _text(e) for k in _UUID)


def refusal(e: BaseException, target_type: str) -> str:
    """A client's refusal of an upload, as a clear Chinese sentence saying what to do."""
    if isinstance(e, FileTooBig):
        return str(e)
    if storage_full(e):
        where = "群文件" if target_type == "group" else "QQ 的文件"
        return f"{where}空间已满，请群主或管理员在群文件里删掉不用的旧文件后，再发一次命令"
    if missing_path(e):
        return f"QQ 客户端看不到机器人服务器上的文件；{DOCKER_HINT}"
    return "QQ 客户端拒绝上传"


async def tell_admins_once(app: App | None, key: str, text: str) -> None:
    """Tell every admin privately, once per run for each `key` (through the outbox)."""
    if app is None or key in _told:
        return
    _told.add(key)
    try:
        async with app.db.tx() as tx:
            for admin in sorted(app.settings.admins):
                await app.outbox.put(tx, "private", admin, Msg(f"【联盟助手】{text}"))
    except Exception as e:
        logger.warning(f"telling the admins ({key}) failed: {e!r}")


def _base64(path: Path) -> str:
    size = path.stat().st_size
    if size > FILE_BASE64_MAX_MB * 1024 * 1024:
        raise FileTooBig(
            f"文件有 {size / 1024 / 1024:.1f} MB，超过 base64 发送的上限 {FILE_BASE64_MAX_MB} MB，而 QQ 客户端看不到"
            "机器人服务器上的文件：请把机器人的数据目录按同一路径挂载进 QQ 客户端的容器，并设置 ALLIANCE_FILE_SEND=path"
        )
    return "base64://" + base64.b64encode(path.read_bytes()).decode()


def _mode() -> str:
    app = current_app()
    return app.settings.alliance_file_send if app is not None else "auto"


def inline_for(bot: Any) -> bool:
    """Whether files and pictures go to this client as base64: ALLIANCE_FILE_SEND=base64, or `auto` once the
    account's client said it cannot find a path."""
    mode = _mode()
    return mode == "base64" or (mode == "auto" and str(getattr(bot, "self_id", "")) in _base64_accounts)


async def _path_refused(bot: Any, what: str, e: ActionFailed) -> bool:
    """The client could not find `what` at the path given: True when it goes again as base64 at once (`auto`:
    learned for the account, the log and the admins told once); False when it stays refused (`path`: told once,
    or a refusal for another reason)."""
    if not missing_path(e):
        return False
    app, mode = current_app(), _mode()
    account = str(getattr(bot, "self_id", ""))
    if mode == "path":
        logger.error(f"QQ 客户端 {account} 找不到文件 {what}（ALLIANCE_FILE_SEND=path）：{e}。{DOCKER_HINT}")
        await tell_admins_once(
            app, "file-path", f"QQ 客户端看不到机器人服务器上的文件：文件发不出去，图片改发文字。{DOCKER_HINT}"
        )
        return False
    _base64_accounts.add(account)
    logger.warning(
        f"QQ 客户端 {account} 找不到文件 {what}（{e}）：它看不到机器人的磁盘，改用 base64 发送。{DOCKER_HINT}"
    )
    await tell_admins_once(
        app,
        "file-auto",
        "QQ 客户端看不到机器人服务器上的文件（常见于在 Docker 里运行的 NapCat），这次已改用 base64 发出。"
        + DOCKER_HINT,
    )
    return True


async def upload(bot: Any, api: str, ids: dict[str, int], path: Path, name: str) -> Any:
    """One upload as ALLIANCE_FILE_SEND says. Raises what `call_api` raises, and FileTooBig."""
    if inline_for(bot):
        return await bot.call_api(api, **ids, file=_base64(path), name=name)
    try:
        return await bot.call_api(api, **ids, file=str(path), name=name)
    except ActionFailed as e:
        if not await _path_refused(bot, str(path), e):
            raise
        return await bot.call_api(api, **ids, file=_base64(path), name=name)


async def picture_refused(bot: Any, pictures: list[str], e: ActionFailed) -> bool:
    """A message whose pictures went by path (`pictures`: their `file://` URIs) was refused: True when it goes
    again at once with them inline (the client cannot see the bot's disk, `auto`); the refusal was an answer,
    nothing was delivered, so this is no blind re-send."""
    return bool(pictures) and await _path_refused(bot, "、".join(pictures), e)


async def forward_timed_out(bot: Any, group_id: int, started: float, e: Exception) -> str | None:
    """A merged-forward message to a big group that got no answer (NapCat #1009, #1147): the group's latest messages
    say whether it arrived (then it counts as sent, NapCat #210); if not, it failed and the outbox sends the cut text
    instead; if the client cannot say, it stays "maybe delivered" and nothing more is sent (never both)."""
    try:
        answer = await bot.call_api("get_group_msg_history", group_id=group_id, count=20)
    except Exception as e2:  # a client without history: as any timeout
        logger.info(f"get_group_msg_history after a forward timeout failed: {e2!r}")
        raise SendUnknown(f"合并转发超时，可能已送达，未重发：{e}") from None
    messages = answer.get("messages") if isinstance(answer, dict) else None
    for m in messages or []:
        if not isinstance(m, dict) or str(m.get("user_id")) != str(bot.self_id) or int(m.get("time") or 0) < started:
            continue
        segs = m.get("message")
        if isinstance(segs, list) and any(isinstance(x, dict) and x.get("type") == "forward" for x in segs):
            return str(m.get("message_id"))
    raise SendFailed(f"合并转发超时且没有出现在群里（大群常见）：改发文字版。{e}")
