"""A set that remembers only the most recent few thousand entries: for "already done" marks kept in memory."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class RecentSet:
    """A set of at most `limit` entries; adding past the limit forgets the least recently added or touched one.

    For marks whose loss is harmless (the database still decides; at worst a reminder is said twice), so that a
    bot running for months does not keep every one it ever made."""

    def __init__(self, limit: int = 4096) -> None:
        if limit < 1:
            raise ValueError("limit must be positive")
        self.limit = limit
        self._items: OrderedDict[Hashable, None] = OrderedDict()

    def __contains__(self, item: Hashable) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: Hashable) -> None:
        """Remember `item` as the newest entry, forgetting the oldest once there are more than `limit`."""
        self._items[item] = None
        self._items.move_to_end(item)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def discard(self, item: Hashable) -> None:
        self._items.pop(item, None)
