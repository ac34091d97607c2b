"""Outbox refs (issue 14): one typed value, written as rows have always been written, read back the same."""

from __future__ import annotations

import pytest

from bot.refs import ANNOUNCE, NUDGE, REMINDER, RETURN_NUDGE, WITHDRAWN, Ref, like


@pytest.mark.parametrize(
    ("ref", "text"),
    [
        (Ref("broadcast", 3), "broadcast:3"),
        (Ref("broadcast", 3, NUDGE), "broadcast:3:nudge"),
        (Ref("return", 5, RETURN_NUDGE), "return:5:催办"),
        (Ref("return", 5, REMINDER), "reminder:return:5"),
        (Ref("broadcast", 3, WITHDRAWN), "broadcast-withdrawn:3"),
        (Ref("followers", 202603, REMINDER), "reminder:followers:202603"),
    ],
)
def test_refs_are_stored_as_before_and_read_back(ref: Ref, text: str) -> None:
    assert str(ref) == text
    assert Ref.parse(text) == ref


@pytest.mark.parametrize("text", [None, "", "hello", "broadcast:", "reminder:broadcast:3:nudge", "broadcast:x"])
def test_text_that_is_no_ref_reads_as_none(text: str | None) -> None:
    assert Ref.parse(text) is None


def test_nudges_and_reminders_are_told_from_notices() -> None:
    assert Ref("broadcast", 1, NUDGE).nudges and Ref("return", 1, REMINDER).nudges
    assert not Ref("broadcast", 1, ANNOUNCE).nudges
    assert str(Ref("return", 9, REMINDER)).startswith(like(REMINDER).rstrip("%"))
