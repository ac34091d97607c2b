"""The words of the trade: platforms and unit categories, with the aliases people type for them."""

from __future__ import annotations

from bot.errors import UserError
from bot.names import name_key, typed_name

PLATFORMS: dict[str, tuple[str, ...]] = {
    "微信公众号": ("微信", "公众号", "微信号", "wechat", "weixin"),
    "微博": ("新浪微博", "weibo"),
    "抖音": ("douyin", "tiktok"),
    "头条号": ("头条", "今日头条", "toutiao"),
    "视频号": ("微信视频号",),
    "快手": ("kuaishou",),
    "B站": ("哔哩哔哩", "bilibili", "b站"),
    "百家号": ("百度百家号",),
    "小红书": ("xiaohongshu", "红书"),
    "客户端": ("app", "APP", "手机客户端"),
    "网站": ("官网", "网页", "门户网站", "web"),
    "其他": ("其它",),
}
_PLATFORM_LOOKUP = {name_key(k): k for k in PLATFORMS} | {name_key(a): k for k, v in PLATFORMS.items() for a in v}


def platform_or_none(text: str) -> str | None:
    """The canonical platform for a name or alias (as typed: `微信\u200b`, `Ｂ站。`), or None."""
    return _PLATFORM_LOOKUP.get(name_key(text))


def parse_platform(text: str) -> str:
    """Raises UserError listing the platforms when `text` is none of them."""
    p = platform_or_none(text)
    if p is None:
        raise UserError(
            f"不认识平台“{text}”。可选：{'、'.join(PLATFORMS)}（也可写 微信、头条、哔哩哔哩、APP 等简称）。"
        )
    return p


CATEGORIES = (
    "省直单位",
    "市教育局",
    "县区教育局",
    "本科高校",
    "高职高专",
    "中职学校",
    "高中",
    "初中",
    "小学",
    "幼儿园",
    "其他",
)
CATEGORY_ORDER = {c: i for i, c in enumerate(CATEGORIES)}


def category_key(category: str) -> tuple[int, str]:
    """Sorts categories in their usual order, unknown ones last by name."""
    return (CATEGORY_ORDER.get(category, len(CATEGORIES)), category)


_CATEGORY_ALIASES = {
    "省直": "省直单位",
    "市局": "市教育局",
    "地市教育局": "市教育局",
    "县区局": "县区教育局",
    "县教育局": "县区教育局",
    "区教育局": "县区教育局",
    "县局": "县区教育局",
    "本科": "本科高校",
    "大学": "本科高校",
    "高职": "高职高专",
    "专科": "高职高专",
    "高专": "高职高专",
    "中职": "中职学校",
    "中专": "中职学校",
    "其它": "其他",
}


# Words that cover several categories: in a 范围 they expand; where one category is needed, they are asked about.
CATEGORY_GROUPS: dict[str, tuple[str, ...]] = {
    "高校": ("本科高校", "高职高专"),
    "高等学校": ("本科高校", "高职高专"),
    "高等院校": ("本科高校", "高职高专"),
    "院校": ("本科高校", "高职高专"),
    "中小学": ("高中", "初中", "小学"),
    "中小学校": ("高中", "初中", "小学"),
    "中学": ("高中", "初中"),
    "教育局": ("市教育局", "县区教育局"),
    "各级教育局": ("市教育局", "县区教育局"),
    "教育行政部门": ("市教育局", "县区教育局"),
    "市县教育局": ("市教育局", "县区教育局"),
    "职业院校": ("高职高专", "中职学校"),
    "职校": ("高职高专", "中职学校"),
    "中小学幼儿园": ("高中", "初中", "小学", "幼儿园"),
}


def category_or_none(text: str) -> str | None:
    s = typed_name(text)
    if s in CATEGORIES:
        return s
    return _CATEGORY_ALIASES.get(s)


def categories_of(text: str) -> tuple[str, ...] | None:
    """The categories a word names: one (`本科`), several (`高校` = 本科高校+高职高专), or None."""
    s = typed_name(text)
    one = category_or_none(s)
    if one is not None:
        return (one,)
    return CATEGORY_GROUPS.get(s)


def parse_category(text: str) -> str:
    c = category_or_none(text)
    group = CATEGORY_GROUPS.get(typed_name(text))
    if c is None and group is not None:
        raise UserError(f"“{text}”包括{'、'.join(group)}，请写明是哪一个类别，如：{group[0]}。")
    if c is None:
        raise UserError(f"不认识单位类别“{text}”。可选：{'、'.join(CATEGORIES)}。")
    return c
