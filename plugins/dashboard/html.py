"""Server-rendered HTML for the dashboard: plain string templates, every value through `e()`, no scripts.

Charts are inline SVG whose bars are sized in percent, so they fit a laptop and a phone alike.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

BASE = "/dashboard"

NAV = (
    ("overview", "概览", ""),
    ("units", "单位", "/units"),
    ("accounts", "账号", "/accounts"),
    ("tasks", "统发与报送", "/tasks"),
    ("followers", "粉丝排行", "/followers"),
    ("import", "导入名册", "/import"),
    ("exports", "导出", "/exports"),
    ("audit", "操作记录", "/audit"),
)
OFFICE_ONLY = frozenset({"import"})
"""The menu entries only the province (a login over the whole tree) may use: a city admin is not shown them."""

CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:14px/1.6 -apple-system,BlinkMacSystemFont,"Segoe UI","PingFang SC","Hiragino Sans GB",
"Microsoft YaHei","Noto Sans CJK SC","Noto Sans SC",sans-serif;color:#1f2937;background:#f3f5f9}
a{color:#1d4ed8;text-decoration:none}a:hover{text-decoration:underline}
header{background:#1e3a8a;color:#fff}
.top{max-width:1180px;margin:0 auto;padding:10px 16px;display:flex;align-items:center;gap:12px;flex-wrap:wrap}
.brand{font-size:17px;font-weight:600;letter-spacing:1px;margin-right:auto;color:#fff}
.brand small{font-weight:400;opacity:.75;margin-left:6px;font-size:13px}
nav{background:#fff;border-bottom:1px solid #e5e7eb}
nav .links{max-width:1180px;margin:0 auto;padding:0 8px;display:flex;overflow-x:auto;white-space:nowrap}
nav a{display:inline-block;padding:11px 12px;color:#374151;border-bottom:3px solid transparent}
nav a:hover{text-decoration:none;color:#1d4ed8}
nav a.on{color:#1d4ed8;border-bottom-color:#1d4ed8;font-weight:600}
main{max-width:1180px;margin:0 auto;padding:18px 16px 40px}
h1{font-size:20px;margin:4px 0 14px}h2{font-size:16px;margin:22px 0 10px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 14px}
.card b{display:block;font-size:24px;color:#111827}.card span{color:#6b7280;font-size:13px}
.card.warn b{color:#b45309}
a.card{display:block;color:inherit}a.card:hover{text-decoration:none;border-color:#93c5fd}
.panel{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:14px 16px;margin-bottom:14px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;background:#fff;border:1px solid #e5e7eb;border-radius:8px}
table{border-collapse:collapse;width:100%}table.wide{min-width:640px}
th,td{padding:8px 10px;text-align:left;border-bottom:1px solid #eef0f4;vertical-align:top}
th{background:#f8fafc;color:#4b5563;font-weight:600;white-space:nowrap;position:sticky;top:0}
tr:last-child td{border-bottom:0}tbody tr:nth-child(even){background:#fafbfd}
td.num,th.num{text-align:right;white-space:nowrap}
.muted{color:#6b7280}.small{font-size:12px}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;background:#e5e7eb;color:#374151;white-space:nowrap}
.badge.ok{background:#dcfce7;color:#166534}.badge.wait{background:#fef3c7;color:#92400e}
.badge.bad{background:#fee2e2;color:#991b1b}
.bar{height:10px;background:#e5e7eb;border-radius:5px;overflow:hidden;min-width:80px}
.bar i{display:block;height:100%;background:#2563eb}
.bar.late i{background:#dc2626}
.task{display:grid;grid-template-columns:1fr minmax(120px,280px) auto;gap:4px 14px;align-items:center;
padding:9px 0;border-bottom:1px solid #eef0f4}
.task:last-child{border-bottom:0}
.task .pct{white-space:nowrap;color:#374151;font-variant-numeric:tabular-nums}
form.inline{display:inline}
.filters{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:12px}
input[type=text],input[type=search],input[type=password],select{font:inherit;padding:7px 10px;border:1px solid #cbd5e1;
border-radius:6px;background:#fff;min-width:0}
input[type=search]{flex:1 1 220px}
input[type=file]{font:inherit;max-width:100%}
button,.btn{font:inherit;padding:7px 14px;border:1px solid #1d4ed8;background:#2563eb;color:#fff;border-radius:6px;
cursor:pointer;display:inline-block}
button.light,.btn.light{background:#fff;color:#1d4ed8}
header button{background:transparent;border-color:rgba(255,255,255,.6);padding:4px 12px}
.pager{display:flex;gap:10px;align-items:center;margin:12px 0;flex-wrap:wrap}
.msg{padding:10px 14px;border-radius:6px;margin-bottom:14px;white-space:pre-wrap}
.msg.ok{background:#dcfce7;color:#14532d}.msg.err{background:#fee2e2;color:#7f1d1d}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:14px}
.exports{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:12px}
.exports .panel{margin:0}
.exports p{margin:4px 0 10px;color:#6b7280;font-size:13px}
svg.chart{display:block;width:100%}
svg.chart text{font-size:13px;fill:#374151}
svg.chart .v{fill:#111827;font-variant-numeric:tabular-nums}
.login{max-width:380px;margin:12vh auto;padding:26px 24px}
.login h1{text-align:center}.login input{width:100%;margin:6px 0 14px}.login button{width:100%}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dl.kv dt{color:#6b7280}dl.kv dd{margin:0}
ul.plain{margin:0;padding-left:18px}
@media (max-width:640px){
 main{padding:12px 10px 30px}h1{font-size:18px}
 .card b{font-size:20px}
 .task{grid-template-columns:1fr auto}.task .bar{grid-column:1/-1;grid-row:2}
 .brand small{display:none}
}
"""


def e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def url(path: str = "", **query: Any) -> str:
    """A dashboard URL with a query string (empty values left out), escaped for an attribute."""
    q = {k: v for k, v in query.items() if v not in (None, "")}
    return e(BASE + path + (("?" + urlencode(q)) if q else ""))


def layout(
    title: str, body: str, *, active: str = "", csrf: str = "", who: str = "", hidden: Collection[str] = ()
) -> str:
    """The whole page: header with logout, navigation (without the `hidden` entries: what the person may not use),
    the body."""
    nav = ""
    top_right = ""
    if csrf:
        links = "".join(
            f'<a href="{url(path)}" class="{"on" if key == active else ""}">{e(label)}</a>'
            for key, label, path in NAV
            if key not in hidden
        )
        nav = f'<nav><div class="links">{links}</div></nav>'
        top_right = (
            f'<span class="small">已登录：{e(who)}</span>'
            f'<form class="inline" method="post" action="{url("/logout")}">'
            f'<input type="hidden" name="csrf" value="{e(csrf)}"><button type="submit">退出</button></form>'
        )
    return (
        "<!doctype html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{e(title)} · 联盟助手</title><style>{CSS}</style></head><body>"
        f'<header><div class="top"><a class="brand" href="{url()}">联盟助手<small>教育新媒体联盟 · 管理后台</small></a>'
        f"{top_right}</div></header>{nav}<main>{body}</main></body></html>"
    )


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Iterable[int] = (), empty: str = ""
) -> str:
    """A scrollable table; cells are HTML already (escape with `e()` first); `numeric` columns align right."""
    num = set(numeric)
    head = "".join(f'<th class="num">{e(h)}</th>' if i in num else f"<th>{e(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="muted">{e(empty or "没有记录")}</td></tr>'
    wide = ' class="wide"' if len(headers) > 4 else ""
    return f'<div class="scroll"><table{wide}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def badge(text: str) -> str:
    kind = {
        "正常": "ok",
        "已备案": "ok",
        "已通过": "ok",
        "进行中": "wait",
        "待审核": "wait",
        "已驳回": "bad",
        "已注销": "bad",
        "逾期": "bad",
        "已逾期": "bad",
        "已撤回": "bad",
    }.get(text, "")
    return f'<span class="badge {kind}">{e(text)}</span>'


def progress(done: int, total: int, *, late: bool = False) -> str:
    pct = done / total * 100 if total else 0.0
    return (
        f'<div class="bar{" late" if late else ""}" role="progressbar" aria-valuenow="{pct:.0f}" '
        f'aria-valuemin="0" aria-valuemax="100"><i style="width:{pct:.1f}%"></i></div>'
    )


def pct_text(done: int, total: int) -> str:
    return f"{done}/{total}（{done / total * 100:.1f}%）" if total else "0/0"


def num(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def bar_chart(items: Sequence[tuple[str, int]], *, color: str = "#2563eb", negative: str = "#dc2626") -> str:
    """Horizontal bars as inline SVG: a label line (name left, value right) and a bar under it, sized in percent."""
    if not items:
        return '<p class="muted">暂无数据</p>'
    peak = max(abs(v) for _, v in items) or 1
    row = 40
    parts = []
    for i, (label, value) in enumerate(items):
        y = i * row
        width = max(abs(value) / peak * 100, 0.5)
        fill = negative if value < 0 else color
        parts.append(
            f'<text x="0" y="{y + 15}">{e(label)}</text>'
            f'<text class="v" x="100%" y="{y + 15}" text-anchor="end">{e(f"{value:+,}" if value < 0 else f"{value:,}")}</text>'
            f'<rect x="0" y="{y + 22}" width="100%" height="10" rx="5" fill="#e5e7eb"/>'
            f'<rect x="0" y="{y + 22}" width="{width:.2f}%" height="10" rx="5" fill="{fill}"/>'
        )
    height = len(items) * row
    return (
        f'<svg class="chart" role="img" height="{height}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="none">{"".join(parts)}</svg>'
    )


def pager(path: str, page: int, pages: int, total: int, **query: Any) -> str:
    if pages <= 1:
        return f'<div class="pager muted small">共 {total} 条</div>'
    prev = f'<a class="btn light" href="{url(path, **query, page=page - 1)}">上一页</a>' if page > 1 else ""
    nxt = f'<a class="btn light" href="{url(path, **query, page=page + 1)}">下一页</a>' if page < pages else ""
    return f'<div class="pager">{prev}<span class="muted">第 {page}/{pages} 页，共 {total} 条</span>{nxt}</div>'


def paginate(items: Sequence[Any], page: int, size: int = 20) -> tuple[Sequence[Any], int, int]:
    """The items of one page, the page number (clamped), and how many pages there are."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 1), pages)
    return items[(page - 1) * size : page * size], page, pages


def message(text: str, *, ok: bool = True) -> str:
    return f'<div class="msg {"ok" if ok else "err"}">{e(text)}</div>'


def hidden_csrf(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(csrf)}">'


def options(values: Iterable[str], chosen: str, *, blank: str) -> str:
    out = [f'<option value="">{e(blank)}</option>']
    for v in values:
        sel = " selected" if v == chosen else ""
        out.append(f'<option value="{e(v)}"{sel}>{e(v)}</option>')
    return "".join(out)
