"""Returns (报送): tasks with a hard deadline that units submit, and reminders to those who have not.

The units that owe a return are fixed when it is created (all units, or those of a 范围 of categories
or cities). A unit submits once: a second submission is acknowledged and not counted; one after the
deadline is kept and marked 逾期. Reminders go through the shared ledger (bot/reminders.py, kind
"return"); who is still owed is computed when a reminder goes out, so a unit done by then is not nudged.

The package: records, parse (what admins and operators type), text (what the bot says), service (Returns),
files/ (returns as files: fetching, reading, checking, merging the forms units send). The engine it shares
with 统发 is bot/tasks.py.
"""
