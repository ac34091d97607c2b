"""Names and ids as people type them: how a unit, alias, city or account name is normalized, stored and
looked up, and how a QQ id is checked before anything is stored against it."""

from __future__ import annotations

import re
import unicodedata

from bot.errors import UserError


def normalize_name(text: str, *, cjk_brackets: bool = True) -> str:
    """A name as it is stored and compared: NFKC (full-width letters and digits folded), invisible and
    direction characters (Unicode Cf: U+200B, U+202E, U+FEFF …) and control characters removed, every run of
    white space one space, and in a Chinese name the brackets Chinese (`河南大学(本部)` → `河南大学（本部）`).
    So `郑州大学\u200b` and `郑州大学` are one name, and no two units look alike."""
    s = unicodedata.normalize("NFKC", str(text))
    s = "".join(" " if ch.isspace() else ch for ch in s if unicodedata.category(ch) not in ("Cf", "Cc") or ch.isspace())
    if cjk_brackets and re.search(r"[\u4e00-\u9fff]", s):
        s = s.replace("(", "（").replace(")", "）")
    return re.sub(r" {2,}", " ", s).strip()


# what people put around a name when they paste or type it in a sentence: `郑州大学。`, `：郑大`, `郑大微信！`
_NAME_EDGE_PUNCT = "。．.，,、；;：:！!？?～~…·・'\"“”‘’「」『』《》〈〉"


def typed_name(text: str) -> str:
    """A name as a person typed it, ready to look up: `normalize_name` (invisible characters, NBSP, full-width
    spaces, letters and digits), then the sentence punctuation pasted or typed around it removed
    (`郑州大学\u200b。` → `郑州大学`). Only for finding a stored name, never for storing one."""
    return normalize_name(text).strip(_NAME_EDGE_PUNCT + " ")


def name_key(text: str) -> str:
    """How two names are compared: `typed_name`, case folded, spaces dropped (`ＺＺＵ 微信。` and `zzu微信` are
    one key)."""
    return re.sub(r"\s+", "", typed_name(text)).casefold()


def check_name(text: str, what: str = "名称", limit: int = 60, *, cjk_brackets: bool = True) -> str:
    """A unit, alias, city or account name, normalized (`normalize_name`): non-empty, at most `limit`
    characters, no line breaks."""
    if "\n" in text or "\r" in text or "\t" in text or "\u2028" in text or "\u2029" in text:
        raise UserError(f"{what}不能含换行。")
    s = normalize_name(text, cjk_brackets=cjk_brackets)
    if not s:
        raise UserError(f"{what}不能为空。")
    if len(s) > limit:
        raise UserError(f"{what}太长（{len(s)} 字），请控制在 {limit} 字以内。")
    return s


def is_qq(user_id: object) -> bool:
    """A QQ id as the client sends it: a positive whole number of at most 13 digits (no sign, no leading zero)."""
    s = str(user_id).strip()
    return s.isascii() and s.isdigit() and not s.startswith("0") and len(s) <= 13


def check_qq(user_id: object) -> str:
    """The QQ id as text, checked before anything is stored against it.

    Raises:
        UserError: not a QQ id (e.g. `-5`, `0`, 30 digits): nothing is stored.
    """
    if not is_qq(user_id):
        raise UserError(
            f"无法识别你的 QQ 号（{str(user_id)[:20]}），没有保存任何内容。请用 QQ 手机版或电脑版重新发送。"
        )
    return str(user_id).strip()


def check_city(text: str, what: str = "地市") -> str:
    """A 地市 (city), or with `what` 县区 a county: empty, or a short name without line breaks or symbols, like 郑州
    or 郑州市 (金水区)."""
    if not str(text).strip():
        return ""
    s = check_name(text, what, limit=20)
    if re.search(r"[\[\]【】<>{}/\\|@#=“”\"'`]", s):
        example = "金水区" if what == "县区" else "郑州"
        raise UserError(f"{what}“{s}”含有不该有的符号，请只写{what}名，如 {example}。")
    return s


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Levenshtein distance of a and b; with `limit`, limit + 1 once it is sure to be over it (rows are cut short)."""
    if limit is None:
        limit = len(a) + len(b)
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return min(prev[-1], limit + 1)
