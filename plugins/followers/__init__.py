"""Follower counts: /粉丝 report|排行|目标, /更新, /僵尸号."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from nonebot import get_driver, logger
from nonebot.adapters.onebot.v11 import Message, MessageEvent
from nonebot.plugin import PluginMetadata

from bot import clock
from bot.app import current_app
from bot.errors import UserError
from bot.followers.periods import looks_like_date, parse_ranking_args, show_day
from bot.followers.records import Posted, Reported, Stale, StaleAccount, TargetProgress
from bot.followers.targets import signed, wan
from bot.parse import looks_like_count, read_number
from bot.pictures import Card
from bot.readouts.views import ranking_card, stale_card, targets_card
from bot.render import Ack, Msg, percent
from bot.roles import Role
from bot.rollup import count_by_area
from bot.vocab import category_or_none, platform_or_none
from plugins._ctx import Ctx
from plugins._registry import Command, admins, command, sub, trigger
from plugins._reply import Reply, kept_card, picture_or_text
from plugins._roles import ADMIN, ANYONE, OPERATOR
from plugins._topics import Topic
from plugins.followers.texts import (
    messages,
    ranking_place,
    render_category,
    render_ranking,
    targets_place,
)

HELP = [
    Topic(
        "粉丝",
        ANYONE,
        "粉丝数：联络员报送本单位账号的粉丝数；所有人可看排行和目标完成情况",
        "联络员报送（每个账号每天算一次，当天再报即更正）：\n"
        "/粉丝 <平台或账号名称> <数量> — 例：/粉丝 微信 12345、/粉丝 抖音 1.2万、/粉丝 微博 12.3w、/粉丝 头条 120万+\n"
        "同一平台有两个账号时写账号名称：/粉丝 郑大青年 3千，或 /粉丝 微信 郑大青年 3千\n"
        "和以往相差很大的数（像多写或少写了一位、是上次的 3 倍以上或不到一半、远离以往的增长，第一次报送时超过本单位目标的 5 倍），"
        "机器人会先问一句，回复“确认”才记录（也可以在命令后加“确认”：/粉丝 微信 680000 确认）\n"
        "/粉丝 排行 [平台] [类别] [本月/上月] — 按单位排行（粉丝数、增长），例：/粉丝 排行 抖音 本科高校 上月\n"
        "/粉丝 目标 [单位或类别] — 目标完成情况，例：/粉丝 目标 郑州大学、/粉丝 目标 本科高校\n"
        "/粉丝 月报 [月份] — 上月（或所写月份）各类单位的粉丝排行图和表格，例：/粉丝 月报、/粉丝 月报 10月\n"
        "排行、目标较长时在群里以图片发送；要文字请在命令后加“文字”，如：/粉丝 排行 文字\n"
        "单位的粉丝数是其各账号最新粉丝数之和；目标按单位类别和在校生数确定。",
    ),
    Topic(
        "更新",
        OPERATOR,
        "报告本单位账号最近一次发布内容的日期",
        "/更新 <平台或账号名称> [日期] — 日期默认今天，例：/更新 微信、/更新 抖音 昨天、/更新 微博 上周五、"
        "/更新 视频号 3天前、/更新 微博 3月1日（还没到的日期不收）",
    ),
    Topic(
        "僵尸号",
        ADMIN,
        "长期没有更新或没有报送粉丝数的账号，按单位列出",
        "/僵尸号 [天数] — 两周（14 天）不更新为僵尸号，10 天起列入预警（国办秘函〔2019〕19号），例：/僵尸号、/僵尸号 30",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="粉丝数",
    description="粉丝数报送、目标、排行与僵尸号检查",
    usage="/粉丝 <平台或账号名称> <数量>\n/粉丝 排行 [平台] [类别] [本月/上月]\n/粉丝 目标 [单位]\n/粉丝 月报 [月份]\n"
    "/更新 <平台或账号名称> [日期]\n/僵尸号 [天数]",
    extra={"help": HELP},
)

driver = get_driver()


@driver.on_startup
async def _say_when_the_monthly_list_goes_out() -> None:
    """The monthly list is owed in the reminder ledger, whose next due time the scheduler wakes (plugins/system)."""
    app = current_app()
    if app is None or not app.monthly.enabled:
        return
    logger.info(f"月度粉丝榜单：下一次 {clock.show(app.monthly.next_time())}")


REPORT_USAGE = "用法：/粉丝 <平台或账号名称> <数量>，如：/粉丝 微信 12345、/粉丝 抖音 1.2万；看排行：/粉丝 排行；看目标：/粉丝 目标"


def _acc(platform: str, name: str) -> str:
    return f"{platform}“{name}”"


# ---------------------------------------------------------------- /粉丝 <账号> <数量>


def render_report(r: Reported) -> Msg:
    today = r.day
    out = Msg(
        f"已记录：{r.unit.name} {_acc(r.account.platform, r.account.name)} 粉丝 {r.count:,}（{show_day(today)}）。"
    )
    if r.replaced is not None:
        out.line(f"已更正今天的报送：{r.replaced:,} → {r.count:,}。")
    if r.previous is not None:
        before, day = r.previous
        change = r.count - before
        out.line(f"比上次（{show_day(day, today)} {before:,}）{signed(change)}。")
    elif r.replaced is None:
        out.line("这是该账号第一次报送。")
    if r.target.amount:
        left = r.target.amount - r.total
        state = f"还差 {wan(left)}" if left > 0 else "已达标"
        out.line(
            f"单位合计 {wan(r.total)}，目标 {wan(r.target.amount)}（{r.target.rule}），"
            f"完成 {percent(r.total, r.target.amount, '—')}，{state}。"
        )
    else:
        out.line(f"单位合计 {wan(r.total)}（{r.target.rule}）。")
    if r.unreported:
        out.line("本月还没报送：" + "、".join(_acc(a.platform, a.name) for a in r.unreported) + "。")
    return out


CONFIRM_ARGS = ("确认", "确定", "确认无误")


async def report(ctx: Ctx, *, confirmed: bool = False) -> Ack:
    args = [a for a in ctx.args if a not in CONFIRM_ARGS]  # /粉丝 微信 680000 确认: asked and confirmed at once
    confirmed = confirmed or len(args) < len(ctx.args)
    if len(args) >= 2 and not looks_like_count(args[-1]) and looks_like_count(args[0]):
        args = [*args[1:], args[0]]  # /粉丝 1.5万 微信: the count first
    if len(args) > 3:
        raise UserError(f"参数太多。账号名称含空格请加引号。{REPORT_USAGE}")
    if len(args) == 1 and platform_or_none(args[0]) is not None:
        raise UserError(f"请在平台后写出粉丝数，如：/粉丝 {args[0]} 12345")
    r = await ctx.app.followers.report(ctx.user_id, args[:-1], args[-1], confirmed=confirmed)
    return Ack.of(render_report(r), react=False)  # news for the person: a short answer, merged with others


# ---------------------------------------------------------------- /粉丝 排行


async def _my_unit(ctx: Ctx) -> int | None:
    bound = await ctx.app.units.registrations.operator(ctx.user_id)
    return bound[1].id if bound is not None else None


def with_place(reply: Reply, place: str) -> Reply:
    """A picture everyone who asks gets, with the asker's own place said before it (and before its text
    alternative). One picture per data, not one per asker with their row highlighted: drawing, storing and sending a
    picture per asker made these the slowest answers of the bot (bench/README.md, "followers")."""
    if not place or not isinstance(reply, Msg) or reply.kind != "image":
        return reply
    out = Msg(place).line().add_all(reply)
    out.fallback = Msg(place).line().add_all(reply.fallback) if reply.fallback is not None else None
    return out


async def ranking(ctx: Ctx) -> Reply:
    ctx.take_format()
    platform, category, period = parse_ranking_args(ctx.args, clock.now().date())
    svc = ctx.app.followers
    r = await svc.rankings.ranking(platform, category, period, scope=ctx.scope if ctx.role is Role.CITY_ADMIN else None)
    rows = ctx.app.settings.alliance_picture_rows
    reply = await picture_or_text(
        ctx,
        len(r.counts),
        render_ranking(r, ctx.limit),
        kept_card((r,), ("ranking", str(rows)), lambda: ranking_card(r, svc.target, limit=rows)),
    )
    return with_place(reply, ranking_place(r, await _my_unit(ctx)))


# ---------------------------------------------------------------- /粉丝 目标


def render_progress(p: TargetProgress) -> Msg:
    today = clock.now().date()
    if p.target.amount:
        out = Msg(f"{p.unit.name} 粉丝目标 {wan(p.target.amount)}（{p.target.rule}）")
        left = p.target.amount - p.total
        state = f"还差 {wan(left)}" if left > 0 else "已达标"
        out.line(f"合计 {wan(p.total)}，完成 {percent(p.total, p.target.amount, '—')}，{state}。")
    else:
        out = Msg(f"{p.unit.name}（{p.target.rule}）")
        out.line(f"合计 {wan(p.total)}。")
    if not p.accounts:
        out.line("还没有登记账号。联络员可用 /账号 登记 <平台> <账号名称> 登记。")
    for account, count, day in p.accounts:
        shown = f"{wan(count)}（{show_day(day, today)}）" if count is not None and day else "未报送"
        out.line(f"· {_acc(account.platform, account.name)} {shown}")
    return out


def render_overview(app_targets: dict, populous: frozenset[str], rows: list, limit: int | None) -> list[Msg]:
    """Every category: its rule, and how many of its units met it."""
    head = Msg("粉丝目标（单位各账号最新粉丝数之和，对照所属类别的目标）：")
    by_cat: dict[str, list] = {}
    for unit, total, target in rows:
        by_cat.setdefault(unit.category, []).append((total, target))
    lines = []
    for category, items in by_cat.items():
        ct = app_targets.get(category)
        rule = ct.describe() if ct else "未设目标"
        if ct and ct.populous is not None and category == "市教育局":
            rule = rule.replace("人口大市", f"人口大市（{'、'.join(sorted(populous))}）")
        with_target = [(t, tg) for t, tg in items if tg.amount]
        met = sum(1 for t, tg in with_target if t is not None and t >= tg.amount)
        reported = sum(1 for t, _ in items if t is not None)
        if with_target:
            lines.append(f"· {category}：{rule} — 达标 {met}/{len(items)}，已报送 {reported}")
        else:
            lines.append(f"· {category}：未设目标 — {len(items)} 个单位，已报送 {reported}")
    lines.append("看一个单位：/粉丝 目标 <单位>；看一类：/粉丝 目标 本科高校")
    return messages(head, lines) if limit is None else [head.line("\n".join(lines))]


async def targets(ctx: Ctx) -> Reply:
    ctx.take_format()
    svc = ctx.app.followers
    name = " ".join(ctx.args).strip()
    if name in ("全部", "所有", "全部单位"):
        name = ""
    if name:
        category = category_or_none(name)
        if category is not None:
            rows = await svc.rankings.overview(category)
            limit = ctx.app.settings.alliance_picture_rows
            reply = await picture_or_text(
                ctx,
                len(rows),
                render_category(category, rows, ctx.limit),
                kept_card(
                    (rows,), ("targets", str(limit)), lambda: targets_card(category, rows, mine=None, limit=limit)
                ),
            )
            return with_place(reply, targets_place(rows, await _my_unit(ctx)))
        return render_progress(await svc.progress(await ctx.app.units.resolve(name)))
    bound = await ctx.app.units.registrations.operator(ctx.user_id)
    if bound is not None:
        return render_progress(await svc.progress(bound[1]))
    return render_overview(svc.targets, svc.populous, await svc.rankings.overview(), ctx.limit)


async def own_status(ctx: Ctx) -> Msg | list[Msg]:
    bound = await ctx.app.units.registrations.operator(ctx.user_id)
    if bound is None:
        raise UserError(REPORT_USAGE)
    out = render_progress(await ctx.app.followers.progress(bound[1]))
    out.line(REPORT_USAGE)
    return out


# ---------------------------------------------------------------- /粉丝 月报


async def monthly(ctx: Ctx) -> Reply:
    if len(ctx.args) > 1:
        raise UserError("用法：/粉丝 月报 [月份]，如：/粉丝 月报、/粉丝 月报 10月、/粉丝 月报 2026-10")
    m = ctx.app.monthly
    report = await m.build(m.period_of(ctx.args[0] if ctx.args else ""))
    return m.messages(report)


@command("粉丝", "粉丝数", may=Role.MEMBER)
async def followers_cmd(ctx: Ctx) -> Reply:
    if not ctx.args:
        return await own_status(ctx)
    return await sub(
        ctx,
        {
            "排行": ranking,
            "排名": ranking,
            "排行榜": ranking,
            "榜单": ranking,
            "目标": targets,
            "月报": monthly,
            "月榜": monthly,
            "确认": confirm,
        },
        report,
    )


async def confirm(ctx: Ctx) -> Msg:
    """`/粉丝 确认` (or a plain 确认): record the count the bot asked this person to confirm; `/粉丝 确认 微信 680000`
    records that count at once."""
    if ctx.args:
        return await report(ctx, confirmed=True)
    return render_report(await ctx.app.followers.confirm(ctx.user_id))


CONFIRM_WORDS = frozenset({"确认", "确定", "是", "是的", "对", "对的", "没错", "没写错", "确认无误", "无误"})


@trigger
async def confirm_reply(event: MessageEvent) -> tuple[Command, Message] | None:
    """A plain 确认 / 是 from someone the bot just asked to confirm a far-off follower count."""
    app = current_app()
    if app is None or event.get_plaintext().strip().rstrip("。.!！") not in CONFIRM_WORDS:
        return None
    if not app.followers.awaiting(str(event.user_id)):
        return None
    return Command(confirm), Message()


# ---------------------------------------------------------------- /更新


def render_post(p: Posted) -> Msg:
    today = clock.now().date()
    when = "今天" if p.day == today else f"{(today - p.day).days} 天前"
    out = Msg(
        f"已记录：{p.unit.name} {_acc(p.account.platform, p.account.name)} "
        f"最近一次更新是 {show_day(p.day, today)}（{when}）。"
    )
    if p.previous is not None and p.previous != p.day:
        out.text(f"此前报告的是 {show_day(p.previous, today)}。")
    return out


@command("更新", may=Role.MEMBER)
async def post_cmd(ctx: Ctx) -> Msg:
    args = ctx.args
    if not args:
        raise UserError("用法：/更新 <平台或账号名称> [日期]，如：/更新 微信、/更新 抖音 昨天、/更新 微博 3月1日")
    day_text = ""
    if len(args) >= 2 and looks_like_date(args[-1]):
        args, day_text = args[:-1], args[-1]
    elif len(args) == 1 and looks_like_date(args[0]):
        args, day_text = [], args[0]
    if len(args) > 2:
        raise UserError("参数太多。用法：/更新 <平台或账号名称> [日期]；账号名称含空格请加引号。")
    return render_post(await ctx.app.followers.watch.mark_post(ctx.user_id, args, day_text))


# ---------------------------------------------------------------- /僵尸号


def _stale_line(item: StaleAccount, today: date, what: str) -> str:
    a = item.account
    if what == "post":
        fact = f"最后更新 {show_day(item.last_post, today)}" if item.last_post else "从未报告更新"
        fact += f"，{item.idle} 天"
    elif item.last_count is not None and item.count is not None:
        fact = f"最后报送 {show_day(item.last_count, today)}，{wan(item.count)}"
    else:
        fact = "从未报送粉丝数"
    return f"{_acc(a.platform, a.name)}（{fact}）"


def _stale_sections(s: Stale) -> list[tuple[str, list, str]]:
    out = [(f"僵尸号：{s.days} 天及以上没有更新", s.no_post, "post")]
    if s.warn < s.days:
        out.append((f"预警：{s.warn}–{s.days - 1} 天没有更新", s.warning, "post"))
    out.append((f"{s.days} 天以上没有报送粉丝数", s.no_count, "count"))
    return out


def render_stale(s: Stale, limit: int | None) -> list[Msg]:
    today = clock.now().date()
    head = Msg(f"僵尸号检查（国办秘函〔2019〕19号：两周不更新即为僵尸号），{show_day(today)}")
    if not s.no_post and not s.warning and not s.no_count:
        head.line(f"没有找到：所有账号都在 {s.warn} 天内报告过更新，{s.days} 天内报送过粉丝数。")
        return [head]
    cut = None if limit is None else max(1, limit // 3)
    lines: list[str] = []
    for title, groups, what in _stale_sections(s):
        accounts = sum(len(items) for _, items in groups)
        lines.append(f"【{title}】{len(groups)} 个单位 {accounts} 个账号" + ("" if groups else "：无"))
        body = [f"{unit.name}：" + "、".join(_stale_line(i, today, what) for i in items) for unit, items in groups]
        if cut is not None and len(body) > cut:
            body = [*body[:cut], f"……另有 {len(body) - cut} 个单位未列出（私聊机器人发送同一命令可看全部）"]
        lines += body
    lines.append("联络员：/更新 <平台> [日期] 报告最近一次更新，/粉丝 <平台> <数量> 报送粉丝数。")
    if limit is not None:
        head.line("\n".join(lines))
        return [head]
    return messages(head, lines)


@command("僵尸号", may=admins("查看僵尸号", Role.CITY_ADMIN))
async def stale_cmd(ctx: Ctx) -> Reply:
    ctx.take_format()
    days = None
    if ctx.args:
        days = read_number(ctx.args[0].removesuffix("天"))
        if len(ctx.args) > 1 or days is None or not 1 <= days <= 3650:
            raise UserError("天数应是 1 到 3650 之间的数字，如：/僵尸号 30")
    s = await ctx.app.followers.watch.stale(days, scope=ctx.scope)
    rows = sum(len(items) for _, items in s.no_post + s.warning)
    limit = ctx.app.settings.alliance_picture_rows
    text = render_stale(s, ctx.limit)
    areas = await count_by_area(ctx.app.units, s.no_post) if ctx.scope.everything else ""
    if areas:  # the province sees where they are (issue 24.3): a line per city, counting accounts
        text[0].line(f"僵尸号账号分布：{areas}")

    def card() -> Card:
        c = stale_card(s, limit)
        return replace(c, note=f"{c.note} · 僵尸号账号分布：{areas}") if areas else c

    return await picture_or_text(ctx, rows, text, card)
