"""Rankings and the 僵尸号 list as a city admin sees them (issue 24.3): the province's, cut to the asker's scope."""

from __future__ import annotations

from dataclasses import replace

from bot.followers.records import Ranking, Stale
from bot.roles import Scope


def ranking_within(r: Ranking, scope: Scope, units_in_scope: int) -> Ranking:
    """`r` with only the units of `scope` (`units_in_scope`: how many of them the ranking counts)."""
    return Ranking(
        r.platform,
        r.category,
        r.period,
        units_in_scope=units_in_scope,
        counts=[c for c in r.counts if c[2] in scope],
        growths=[g for g in r.growths if g[2] in scope],
    )


def stale_within(s: Stale, scope: Scope) -> Stale:
    """`s` with only the units of `scope`."""
    return replace(
        s,
        no_post=[(u, items) for u, items in s.no_post if u in scope],
        warning=[(u, items) for u, items in s.warning if u in scope],
        no_count=[(u, items) for u, items in s.no_count if u in scope],
    )
