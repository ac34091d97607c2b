-- issue 24.3: escalation up the tree. A task made before the overdue lists existed has no row of them in the reminder
-- ledger (kind `<kind>_up`, bot/escalation.py), so it never went to the city admins. A task with no recorded owner is
-- the province's: every open one is owed its overdue list like a task made today. It is owed at the deadline; the
-- ledger sends it at the first working moment after (the kind is `workdays_only`, nothing goes out in quiet hours).
-- A task that already has one (sent, pending or cancelled) keeps it: once, never twice.
INSERT OR IGNORE INTO reminders (kind, task_id, label, due_at)
    SELECT 'broadcast_up', id, 'overdue', deadline FROM broadcasts WHERE state = '进行中';
INSERT OR IGNORE INTO reminders (kind, task_id, label, due_at)
    SELECT 'return_up', id, 'overdue', deadline FROM returns WHERE state = '进行中';
