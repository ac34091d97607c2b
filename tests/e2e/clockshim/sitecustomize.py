"""Moves the bot's clock in an end-to-end test: with ALLIANCE_TEST_NOW (an ISO time), `bot.clock` starts there.

Only the tests put this folder on the bot's PYTHONPATH; the bot itself has no such setting.
"""

import os

if os.environ.get("ALLIANCE_TEST_NOW"):
    from datetime import datetime

    from bot import clock

    _target = datetime.fromisoformat(os.environ["ALLIANCE_TEST_NOW"])
    clock.advance(_target - datetime.now(_target.tzinfo))
