"""Which account of their own unit an operator's command names (a part of Followers): /粉丝 and /更新 both ask it."""

from __future__ import annotations

from bot.accounts import Account, MediaAccounts
from bot.errors import Ambiguous, Forbidden, NotFound, UserError
from bot.names import name_key, typed_name
from bot.units.authority import Authority
from bot.units.records import Unit
from bot.vocab import platform_or_none


class OwnAccounts:
    """An operator's own unit, and the account of it that 1–2 words name (a platform, an account name, or both)."""

    def __init__(self, authority: Authority, accounts: MediaAccounts) -> None:
        self.authority = authority  # who may report for a unit: the one rule
        self.accounts = accounts

    async def unit_of(self, user_id: str, what: str) -> Unit:
        unit = (await self.authority.actor(user_id)).unit  # an operator reports for their own unit only
        if unit is None:
            raise UserError(f"你还没有绑定单位，不能{what}。请先发 /注册 <单位名称>，等管理员审核通过。")
        return unit

    async def pick(self, unit: Unit, words: list[str], example: str) -> Account:
        """The account of `unit` named by 1–2 words: a platform, an account name, or both.

        Raises:
            Ambiguous: several accounts fit (two on one platform, one name on two platforms).
            Forbidden: the name is another unit's account.
            NotFound: no account fits.
        """
        accounts = await self.accounts.of_unit(unit.id)
        if not accounts:
            raise UserError(
                f"“{unit.name}”还没有登记账号。请先 /账号 登记 <平台> <账号名称>，如：/账号 登记 微信 {unit.name}。"
            )
        words = [typed_name(w) for w in words if typed_name(w)]
        if not words or len(words) > 2:
            raise UserError(f"请写出平台或账号名称，如：{example}。账号名称含空格请加引号。")
        platform, name = None, words[-1]
        if len(words) == 2:
            platform = platform_or_none(words[0])
            if platform is None and (p2 := platform_or_none(words[1])) is not None:
                platform, name = p2, words[0]
            if platform is None:
                raise UserError(f"“{words[0]}”不是平台。请写成 <平台> <账号名称>，如：{example}。")
        pool = [a for a in accounts if platform is None or a.platform == platform]
        key = name_key(name)
        exact = [a for a in pool if name_key(a.name) == key]
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            raise Ambiguous(
                f"本单位有 {len(exact)} 个账号叫“{name}”（{'、'.join(a.platform for a in exact)}），"
                f"请在名称前写出平台，如：{example.replace('<账号>', f'{exact[0].platform} {name}')}。",
                [f"{a.platform} {a.name}" for a in exact],
            )
        if platform is None and (p := platform_or_none(name)) is not None:
            on = [a for a in accounts if a.platform == p]
            if len(on) == 1:
                return on[0]
            if len(on) > 1:
                names = "、".join(f"“{a.name}”" for a in on)
                raise Ambiguous(
                    f"本单位有 {len(on)} 个{p}账号：{names}，请写出是哪一个，"
                    f"如：{example.replace('<账号>', f'{p} {on[0].name}')}。",
                    [a.name for a in on],
                )
            raise NotFound(
                f"本单位还没有{p}账号。已登记的：{'、'.join(f'{a.platform}“{a.name}”' for a in accounts)}。"
                f"新账号请先 /账号 登记 {p} <账号名称>。"
            )
        part = [a for a in pool if key in name_key(a.name)]
        if len(part) == 1:
            return part[0]
        if len(part) > 1:
            raise Ambiguous(
                f"“{name}”可能指：{'、'.join(f'{a.platform}“{a.name}”' for a in part)}。请写出完整的平台和名称，"
                f"如：{example.replace('<账号>', f'{part[0].platform} {part[0].name}')}。",
                [f"{a.platform} {a.name}" for a in part],
            )
        await self._refuse_foreign(unit, platform, name)
        listing = "、".join(f"{a.platform}“{a.name}”" for a in accounts)
        raise NotFound(f"本单位没有{platform or ''}账号“{name}”。本单位的账号有：{listing}。")

    async def _refuse_foreign(self, unit: Unit, platform: str | None, name: str) -> None:
        owner = await self.accounts.owner_of(name, platform, besides=unit.id)
        if owner is not None:
            account, unit_name = owner
            raise Forbidden(
                f"{account.platform}“{account.name}”是“{unit_name}”的账号，不是本单位（{unit.name}）的。"
                f"联络员只能为本单位的账号报送，发 /账号 列表 查看本单位的账号。"
            )

    async def named(self, unit: Unit, words: list[str], example: str, bare: str) -> Account:
        """The account `words` name (see `pick`); with no words, the unit's only account (`bare`: the sentence for a
        unit with several or none)."""
        if words:
            return await self.pick(unit, words, example)
        accounts = await self.accounts.of_unit(unit.id)
        if len(accounts) != 1:
            raise UserError(bare)
        return accounts[0]
