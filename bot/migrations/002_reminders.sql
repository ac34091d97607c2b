-- The reminder ledger: every reminder owed, with its due time; a row is marked sent in the same
-- transaction that hands its messages to the outbox, so it goes out once, and never twice.
CREATE TABLE reminders (
    id       INTEGER PRIMARY KEY,
    kind     TEXT NOT NULL,
    task_id  INTEGER NOT NULL,
    label    TEXT NOT NULL,
    due_at   TEXT NOT NULL,
    state    TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'skipped', 'cancelled')),
    done_at  TEXT,
    note     TEXT,
    UNIQUE (kind, task_id, label)
);
CREATE INDEX reminders_due ON reminders(state, due_at);
