"""Files handed in for returns: the group_upload notice, messages with a file segment (group or private),
and the commands /报送 表格|文件|模板|接受|汇总|打包. The QQ client glue (which API gives the bytes) lives here;
everything else is bot/returns/files."""

from __future__ import annotations

from typing import Any

from nonebot import logger, on_message
from nonebot.adapters.onebot.v11 import (
    Bot,
    GroupMessageEvent,
    GroupUploadNoticeEvent,
    MessageEvent,
    NoticeEvent,
    PrivateMessageEvent,
)
from nonebot.rule import Rule

from bot.app import App, get_app
from bot.errors import UserError
from bot.names import is_qq
from bot.render import Msg, person_name
from bot.returns.files.fetch import ClientFiles, FetchFailed, Source, TooBig, fetch
from bot.returns.files.records import Upload
from bot.returns.text import form_label
from bot.roles import Role
from plugins import _files
from plugins._client import to_asker_privately, upload_to
from plugins._ctx import Ctx, display_name
from plugins._notices import notice
from plugins._registry import admins
from plugins._reply import Reply, To
from plugins.returns import levels

# ---------------------------------------------------------------- getting the bytes through the client


def _sources(data: Any) -> list[Source]:
    """What a client answer (or a file segment) offers: a URL, base64, a local path."""
    if not isinstance(data, dict):
        return []
    out = []
    url = str(data.get("url") or "")
    if url.startswith(("http://", "https://")):
        out.append(Source(url=url))
    if data.get("base64"):
        out.append(Source(b64=str(data["base64"])))
    path = str(data.get("file") or data.get("path") or "")
    if path.startswith(("base64://",)):
        out.append(Source(b64=path))
    elif path.startswith(("/", "file://")) or (len(path) > 2 and path[1] == ":"):
        out.append(Source(path=path))
    return out


UUID_LOST = "QQ 客户端找不到刚上传的这个文件（NapCat 的已知问题），没有记报送。请重新上传一次。"
UUID_ADMIN = (
    "QQ 客户端（NapCat）取群文件时答“real fileUUID not found”（NapCat 的已知问题 #1267），已请上传的人重新上传。"
    "若反复出现，请升级或重启 NapCat。"
)


def client_fetch(bot: Bot, app: App, file_id: str, group_id: str | None, busid: Any, seg: dict | None):
    """A fetch for the service: the file segment's own URL, then get_group_file_url / get_private_file_url,
    then get_file; each answer tried until one gives the bytes."""

    async def run(cap: int) -> bytes:
        timeout = app.settings.alliance_file_timeout
        rules = ClientFiles.of(app.settings)  # what the bot may read of the client's answers (issue 20 item 7)
        calls: list[tuple[str, dict]] = []
        if group_id is not None:
            params: dict[str, Any] = {"group_id": int(group_id), "file_id": file_id}
            if busid not in (None, ""):
                params["busid"] = busid
            calls.append(("get_group_file_url", params))
        else:
            calls.append(("get_private_file_url", {"file_id": file_id}))
        calls.append(("get_file", {"file_id": file_id}))
        last: FetchFailed = FetchFailed("没能从 QQ 取到这个文件。请重新上传一次，或私聊发给机器人。")

        async def first(sources: list[Source]) -> bytes | None:
            """The bytes of the first source that gives them (too big ends the search; a failure is kept)."""
            nonlocal last
            for src in sources:
                try:
                    return await fetch(src, cap, timeout, app.return_files.http(), rules)
                except TooBig:
                    raise
                except FetchFailed as e:
                    last = e
            return None

        if (data := await first(_sources(seg))) is not None:
            return data
        for action, params in calls:
            if not file_id:
                break
            try:
                answer = await bot.call_api(action, **params)
            except Exception as e:  # a client without the API, or one that cannot find the file
                logger.info(f"{action} failed: {e!r}")
                if _files.file_uuid_lost(e):  # NapCat #1267: the client lost the file; a new upload works
                    last = FetchFailed(UUID_LOST)
                    await _files.tell_admins_once(app, "file-uuid", UUID_ADMIN)
                continue
            if (data := await first(_sources(answer))) is not None:
                return data
        raise last

    return run


async def _answer(app: App, group_id: str | None, user_id: str, msg: Msg | None) -> None:
    """The one answer to an upload: @ the uploader in the group, or privately; an impossible QQ id (-5, 10**15)
    is answered in the group without an @ (nobody to mention, no private chat to open)."""
    if not msg or (group_id is None and not is_qq(user_id)):
        return
    async with app.db.tx() as tx:
        if group_id is not None:
            head = Msg().at(user_id).text(" ") if is_qq(user_id) else Msg()
            await app.outbox.put(tx, "group", group_id, head.add_all(msg))
        else:
            await app.outbox.put(tx, "private", user_id, msg)


async def member_name(bot: Bot, group_id: object, user_id: object) -> str:
    """A group member's card (else nickname) as the client knows it, for a notice that carries no sender (the
    group_upload notice); "" when the client cannot say."""
    if not is_qq(user_id) or not is_qq(group_id):
        return ""
    try:
        info = await bot.get_group_member_info(group_id=int(str(group_id)), user_id=int(str(user_id)), no_cache=False)
    except Exception as e:  # a client without the API, or one that does not know the member
        logger.info(f"get_group_member_info({group_id}, {user_id}) failed: {e!r}")
        return ""
    if not isinstance(info, dict):
        return ""
    return person_name(str(info.get("card") or ""), "") or person_name(str(info.get("nickname") or ""), "")


async def _receive(bot: Bot, up: Upload, busid: Any, seg: dict | None) -> None:
    app = get_app()
    try:
        msg = await app.return_files.receive(
            up, client_fetch(bot, app, up.file_id, up.group_id, busid, seg), is_admin=app.is_admin(up.user_id)
        )
    except UserError as e:
        msg = Msg(str(e))
    except Exception:
        logger.exception(f"handing in {up.name!r} failed")
        msg = Msg("抱歉，这个文件没有收好，也没有记报送。请稍后重新上传一次；仍不行请联系管理员。")
    await _answer(app, up.group_id, up.user_id, msg)


# ---------------------------------------------------------------- events


async def _is_upload(bot: Bot, event: NoticeEvent) -> bool:
    return isinstance(event, GroupUploadNoticeEvent)


@notice(_is_upload)
async def _uploaded(bot: Bot, event: GroupUploadNoticeEvent) -> None:
    if str(event.user_id) == bot.self_id:
        return
    f = event.file
    extra = f.model_dump() if hasattr(f, "model_dump") else {}
    name = await member_name(bot, event.group_id, event.user_id)
    up = Upload(str(event.user_id), name, str(event.group_id), f.name, f.size, str(f.id))
    await _receive(bot, up, f.busid, extra)


def _file_segment(event: MessageEvent) -> dict | None:
    for seg in event.original_message:
        if seg.type == "file":
            return dict(seg.data)
    return None


async def _has_file(bot: Bot, event: MessageEvent) -> bool:
    return str(event.user_id) != bot.self_id and _file_segment(event) is not None


file_message = on_message(rule=Rule(_has_file), priority=11, block=False)


@file_message.handle()
async def _file_sent(bot: Bot, event: MessageEvent) -> None:
    seg = _file_segment(event) or {}
    name = str(seg.get("name") or seg.get("file") or "")
    size = seg.get("file_size") or seg.get("size")
    group_id = str(event.group_id) if isinstance(event, GroupMessageEvent) else None
    if not isinstance(event, (GroupMessageEvent, PrivateMessageEvent)) or not name:
        return
    up = Upload(
        str(event.user_id),
        display_name(event),
        group_id,
        name,
        int(size) if str(size or "").isdigit() else None,
        str(seg.get("file_id") or seg.get("id") or ""),
    )
    await _receive(bot, up, seg.get("busid"), seg)


# ---------------------------------------------------------------- commands


async def form(ctx: Ctx) -> Msg:
    """/报送 表格 [编号] [单位…|全部]: a unit's form (pre-filled), uploaded privately to its operator."""
    app = ctx.app
    rid = ctx.int_arg(ctx.args[0], "报送编号") if ctx.args else (await _only_file_return(ctx)).id
    ret = await app.returns.get(rid)
    names = ctx.args[1:]
    if names and not ctx.is_admin:
        raise UserError(f"联络员只能领取本单位的表格：/报送 表格 {rid}")
    if not names:
        bound = await app.units.registrations.operator(ctx.user_id)
        if bound is None:
            raise UserError(f"你还没有绑定单位。管理员替单位领取：/报送 表格 {rid} <单位…|全部>")
        targets = [(bound[1], [ctx.user_id])]
    elif names == ["全部"]:
        units = await app.units.all()
        ops = await app.units.registrations.operators_of(u.id for u in units)
        targets = [(u, [o.user_id for o in ops[u.id]]) for u in units if ops.get(u.id)]
    else:
        targets = []
        for n in names:
            u = await app.units.resolve(n, strict=True)
            targets.append((u, [o.user_id for o in await app.units.registrations.operators(u.id)]))
    sent, fallback, failed = [], [], []
    for unit, users in targets:
        made = await app.workbooks.prefilled_forms(ret, unit)
        problem = "没有联络员"
        for user in users[:1]:
            problem = await _upload_each(lambda m, user=user: upload_to(ctx.bot, "private", user, m), made)
        if problem is None:
            sent.append(unit.name)
        elif (
            ctx.group_id is not None
            and len(targets) == 1
            and await _upload_each(lambda m: upload(ctx, m), made) is None
        ):
            fallback.append(unit.name)
        else:
            failed.append(f"{unit.name}（{problem}，文件在服务器：{'、'.join(str(m.path) for m in made)}）")
    each = f"（{'、'.join(map(form_label, ret.forms))}各一份）" if len(ret.forms) > 1 else ""
    out = Msg(f"报送 {ret.label}的表格{each}：")
    if sent:
        out.text(f"已私聊发给 {len(sent)} 个单位的联络员（{'、'.join(sent[:10])}{'等' if len(sent) > 10 else ''}）。")
    if fallback:
        out.text(f"私聊发不出去，已上传到群文件：{'、'.join(fallback)}。")
    if failed:
        out.line(f"没有发出（{len(failed)}）：" + "；".join(failed[:10]))
    return out


async def _upload_each(send: Any, made: list[Any]) -> str | None:
    """Upload every file; the first problem, or None when all went."""
    for m in made:
        if (problem := await send(m)) is not None:
            return problem
    return None


async def _only_file_return(ctx: Ctx):
    rets = await ctx.app.return_files.file_returns()
    if len(rets) == 1:
        return rets[0]
    if not rets:
        raise UserError("现在没有要交文件的报送。")
    raise UserError("有几个报送在收文件，请写出编号：" + "；".join(r.label for r in rets[:10]))


async def hand_in(ctx: Ctx) -> Msg:
    """/报送 文件 <编号> [单位] [#文件编号]: which return (and unit) the file you just sent is for; an admin takes in
    a waiting file (/报送 待确认) by its number."""
    if not ctx.args:
        raise UserError("用法：/报送 文件 <编号> [单位]，如：/报送 文件 3 郑州大学")
    rid = ctx.int_arg(ctx.args[0], "报送编号")
    rest, file_id = ctx.args[1:], None
    if rest and rest[-1][:1] in "#＃" and rest[-1][1:].isdecimal():
        file_id = ctx.int_arg(rest[-1][1:], "文件编号")
        rest = rest[:-1]
    return await ctx.app.return_files.attribution.attribute(
        ctx.user_id, ctx.name, rid, " ".join(rest), is_admin=ctx.is_admin, file_id=file_id
    )


async def waiting(ctx: Ctx) -> Reply:
    """/报送 待确认: the files set aside for an admin, listed to the admin privately."""
    listed = await ctx.app.return_files.pending.pending_listing()
    if not ctx.in_group:
        return listed
    return [Msg("待确认的文件已私聊发给你。"), To("private", ctx.user_id, listed)]


async def drop(ctx: Ctx) -> Msg:
    """/报送 丢弃 <文件编号…>: remove files set aside for an admin."""
    ids = [ctx.int_arg(a.lstrip("#＃"), "文件编号") for a in ctx.args]
    return await ctx.app.return_files.pending.drop(ids, actor=ctx.user_id)


async def template(ctx: Ctx) -> Msg:
    if not ctx.args:
        raise UserError("用法：先上传模板表格，再发 /报送 模板 <编号>，如：/报送 模板 3")
    return await ctx.app.return_files.attach_template(ctx.int_arg(ctx.args[0], "报送编号"), actor=ctx.user_id)


async def accept(ctx: Ctx) -> Msg:
    if len(ctx.args) < 2:
        raise UserError("用法：/报送 接受 <编号> <单位>，如：/报送 接受 3 郑州大学")
    rid = ctx.int_arg(ctx.args[0], "报送编号")
    await levels.in_scope(ctx, " ".join(ctx.args[1:]))  # a city admin accepts for their own units only
    return await ctx.app.return_files.accept(rid, " ".join(ctx.args[1:]), actor=ctx.user_id, actor_name=ctx.name)


async def merge(ctx: Ctx) -> Msg:
    if not ctx.args:
        raise UserError("用法：/报送 汇总 <编号>，如：/报送 汇总 3")
    ret = await ctx.app.returns.get(ctx.int_arg(ctx.args[0], "报送编号"))
    layouts = await ctx.app.return_files.layouts_of(ret)
    if not layouts:
        raise UserError(f"报送 {ret.label} 不收表格（或还没有模板），没有可汇总的内容。进度请看 /报送 进度 {ret.id}")
    if ret.by_level and ctx.scope.everything:  # 逐级汇总: the cities' signed-off files and the direct units'
        made = await ctx.app.return_levels.province_merge(ret, layouts)
    else:
        made = await ctx.app.workbooks.merged(ret, layouts)
    sheets = f"（{'、'.join(x.name for x in layouts)}各一张工作表）" if len(layouts) > 1 else ""
    return await _uploaded_answer(ctx, made, f"已汇总 {ret.label}：{made.rows} 行{sheets}")


async def pack(ctx: Ctx) -> Msg:
    if not ctx.args:
        raise UserError("用法：/报送 打包 <编号>，如：/报送 打包 3")
    ret = await ctx.app.returns.get(ctx.int_arg(ctx.args[0], "报送编号"))
    made = await ctx.app.workbooks.pack(ret)  # the originals are the office's: privately, never to a group
    return await to_asker_privately(ctx, made, f"已打包 {ret.label} 的原件：{made.rows} 个文件")


async def upload(ctx: Ctx, made: Any) -> str | None:
    """Upload to the chat the command came from (as /导出 does)."""
    return await upload_to(ctx.bot, "group" if ctx.group_id else "private", ctx.group_id or ctx.user_id, made)


async def _uploaded_answer(ctx: Ctx, made: Any, what: str) -> Msg:
    problem = await upload(ctx, made)
    if problem is None:
        return Msg(f"{what}，已上传到{'群文件' if ctx.in_group else '私聊'}：{made.name}")
    return Msg(f"{what}。{problem}，文件保存在服务器：{made.path}")


RETURN_FILES_MAY = {
    "待确认": admins("查看待确认的文件"),
    "丢弃": admins("丢弃待确认的文件"),
    "表格": Role.MEMBER,
    "领表": Role.MEMBER,
    "文件": Role.MEMBER,
    "模板": admins("设置报送模板"),
    "接受": admins("接受需修改的文件", Role.CITY_ADMIN),
    "汇总": admins("汇总报送"),
    "打包": admins("打包报送文件"),
}

SUBS = {
    "待确认": waiting,
    "丢弃": drop,
    "表格": form,
    "领表": form,
    "文件": hand_in,
    "模板": template,
    "接受": accept,
    "汇总": merge,
    "打包": pack,
}
