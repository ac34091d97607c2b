"""One member cannot hold up everyone (issue 20 item 8): the per-person budget and repeats answered once, on a
clock the test moves; the settings that set them. End to end: tests/e2e/test_flood_e2e.py."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from bot.flood import Admit, FloodGuard, over_budget_note

G = "group:100200300"
HELP = "/帮助"
HELP_TEXT = "联盟助手 — 你是群成员（还没绑定单位），可以用：…"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_repeat_with_the_same_answer_is_answered_once_and_a_changed_answer_again(clock: Clock) -> None:
    guard = FloodGuard(window=60, budget=10, now=clock)
    assert guard.admit("29999", G, HELP) is Admit.RUN
    assert guard.answered("29999", G, HELP, HELP_TEXT) is False  # the first answer goes out
    clock.t += 5
    assert guard.admit("29999", G, HELP) is Admit.RUN
    assert guard.answered("29999", G, HELP, HELP_TEXT) is True  # the same answer again: not sent
    # someone else, another chat, another command: each its own
    assert guard.answered("29998", G, HELP, HELP_TEXT) is False
    assert guard.answered("29999", "private:29999", HELP, HELP_TEXT) is False
    assert guard.answered("29999", G, "/帮助 查询", HELP_TEXT) is False
    # a progress report that changed is answered again; the window counts from the answer given
    assert guard.answered("900001", G, "/报送 进度 1", "已报送 1/3") is False
    clock.t += 30
    assert guard.answered("900001", G, "/报送 进度 1", "已报送 2/3") is False
    clock.t += 59
    assert guard.answered("900001", G, "/报送 进度 1", "已报送 2/3") is True
    clock.t += 2
    assert guard.answered("900001", G, "/报送 进度 1", "已报送 2/3") is False  # a minute on: answered again


def test_forty_help_cost_one_answer_and_no_note(clock: Clock) -> None:
    guard = FloodGuard(window=60, budget=10, now=clock)
    verdicts = [guard.admit("29999", G, HELP) for _ in range(40)]
    assert verdicts == [Admit.RUN] * 10 + [Admit.QUIET] * 30  # repeats past the budget: not even the note
    sent = [not guard.answered("29999", G, HELP, HELP_TEXT) for v in verdicts if v is Admit.RUN]
    assert sent.count(True) == 1


def test_past_the_budget_one_note_per_window_until_the_person_pauses(clock: Clock) -> None:
    guard = FloodGuard(window=60, budget=10, now=clock)
    verdicts = []
    for i in range(40):
        verdicts.append(guard.admit("29999", G, f"/查询 第{i}号单位"))
        clock.t += 0.5
    assert verdicts == [Admit.RUN] * 10 + [Admit.NOTE] + [Admit.QUIET] * 29
    # one a second keeps the budget spent (every command counts), and the note comes at most once a window
    for i in range(70):
        clock.t += 1
        verdicts.append(guard.admit("29999", G, f"/查询 又{i}"))
    assert verdicts[40:].count(Admit.RUN) == 0 and verdicts[40:].count(Admit.NOTE) == 1
    # a pause of a whole window: a fresh budget
    clock.t += 61
    assert guard.admit("29999", G, "/查询 郑州大学") is Admit.RUN
    # the budget is per person, across chats; others are not touched by it
    assert guard.admit("20001", G, "/查询 郑州大学") is Admit.RUN


def test_admins_have_no_budget_but_their_repeats_are_answered_once(clock: Clock) -> None:
    guard = FloodGuard(window=60, budget=10, now=clock)
    assert all(guard.admit("900001", G, f"/查询 第{i}号单位", exempt=True) is Admit.RUN for i in range(40))
    assert guard.answered("900001", G, "/统发 进度 1", "已完成 2/4") is False
    assert guard.answered("900001", G, "/统发 进度 1", "已完成 2/4") is True


def test_zero_turns_the_budget_or_the_whole_guard_off(clock: Clock) -> None:
    no_budget = FloodGuard(window=60, budget=0, now=clock)
    assert all(no_budget.admit("29999", G, f"/查询 {i}") is Admit.RUN for i in range(40))
    assert no_budget.answered("29999", G, HELP, HELP_TEXT) is False
    assert no_budget.answered("29999", G, HELP, HELP_TEXT) is True  # repeats are still answered once
    off = FloodGuard(window=0, budget=10, now=clock)
    assert all(off.admit("29999", G, HELP) is Admit.RUN for _ in range(40))
    assert not any(off.answered("29999", G, HELP, HELP_TEXT) for _ in range(3))


def test_what_it_remembers_stays_bounded_by_recent_activity(clock: Clock) -> None:
    guard = FloodGuard(window=60, budget=10, now=clock)
    for i in range(5000):
        guard.admit(str(10000 + i), G, f"/查询 {i}")
        guard.answered(str(10000 + i), G, f"/查询 {i}", "答")
        clock.t += 0.1  # 500 s in all: most of it older than the window
    assert len(guard._seen) < 1200 and len(guard._answers) < 1200 and len(guard._times) < 1200


def test_the_note_says_what_to_do() -> None:
    assert over_budget_note(60, 10) == (
        "你在 1 分钟内发了太多命令（每人最多 10 条），接下来的命令先不处理，重复发也不会更快。"
        "请过 1 分钟再发；急事请联系管理员。"
    )
    assert "90 秒" in over_budget_note(90, 5) and "5 条" in over_budget_note(90, 5)


def test_the_flood_settings_and_their_defaults() -> None:
    s = load_settings(None, environ={})
    assert (s.alliance_flood_window, s.alliance_flood_budget) == (60, 10)
    s = load_settings(None, environ={"ALLIANCE_FLOOD_WINDOW": "30", "ALLIANCE_FLOOD_BUDGET": "0"})
    assert (s.alliance_flood_window, s.alliance_flood_budget) == (30, 0)
    for key, value in (
        ("ALLIANCE_FLOOD_WINDOW", "-1"),
        ("ALLIANCE_FLOOD_WINDOW", "nan"),
        ("ALLIANCE_FLOOD_BUDGET", "ten"),
        ("ALLIANCE_FLOOD_BUDGET", "-3"),
        ("ALLIANCE_FLOOD_BUDGET", "2.5"),
    ):
        with pytest.raises(ConfigError) as info:
            load_settings(None, environ={key: value})
        assert key in str(info.value)
