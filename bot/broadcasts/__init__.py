"""一键统发: tasks announced in every alliance group, confirmed once per unit, with progress and nudges.

How the promises hold:
- a task's units are fixed when it is created (`broadcast_units`), so later roster changes do not move
  its denominator; a unit deleted later drops out unless it had confirmed (nobody is left to do it);
- a unit counts once: the first confirmation is stored with `counted = 1` under a partial unique index;
  later ones from the same unit are kept with `counted = 0` and acknowledged;
- a reply to the announcement (or to a nudge about it) confirms it: the client's message ids of those
  messages are recorded in `broadcast_posts` when the outbox reports them sent, and kept in memory so
  the reply check costs a dict lookup;
- automatic nudges use the reminder ledger (kind "broadcast"): who is still owed is computed at send
  time in the same transaction that queues the messages.

The package: records (the task and what the service returns), parse (what admins and operators type), text
(what the bot says), service (Broadcasts: create, confirm, progress, nudge, close, withdraw), and the parts of
Broadcasts with a job of their own: posts (the reply index), reactions, stats. The engine it shares with 报送 is
bot/tasks.py.
"""
