-- 一键统发: tasks, the units that owe each one (fixed when it is created), the messages that
-- announced it (so a reply to one confirms it), and every confirmation received.

CREATE TABLE broadcasts (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    url           TEXT NOT NULL,
    deadline      TEXT NOT NULL,
    requirements  TEXT NOT NULL DEFAULT '转发',
    scope         TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL DEFAULT '进行中' CHECK (state IN ('进行中', '已结束', '已撤回')),
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    closed_by     TEXT,
    closed_at     TEXT
);
CREATE INDEX broadcasts_state ON broadcasts(state, id);
CREATE INDEX broadcasts_created ON broadcasts(created_at);

-- The units that owe a task; `(unit_id, task_id)` serves "what does my unit owe".
CREATE TABLE broadcast_units (
    task_id  INTEGER NOT NULL REFERENCES broadcasts(id),
    unit_id  INTEGER NOT NULL REFERENCES units(id),
    PRIMARY KEY (task_id, unit_id)
) WITHOUT ROWID;
CREATE INDEX broadcast_units_unit ON broadcast_units(unit_id, task_id);

-- Messages the client sent for a task (announcement, nudges, reminders), by the client's message
-- id as text (real ids are negative and may exceed int32).
CREATE TABLE broadcast_posts (
    message_id  TEXT PRIMARY KEY,
    task_id     INTEGER NOT NULL REFERENCES broadcasts(id),
    kind        TEXT NOT NULL DEFAULT 'announce' CHECK (kind IN ('announce', 'nudge', 'reminder', 'other')),
    group_id    TEXT
);
CREATE INDEX broadcast_posts_task ON broadcast_posts(task_id);

-- Every confirmation acknowledged. `counted` = 1 for the one that counts for the unit (at most one
-- per task and unit); later ones from the same unit are kept with counted = 0.
CREATE TABLE broadcast_confirmations (
    id           INTEGER PRIMARY KEY,
    task_id      INTEGER NOT NULL REFERENCES broadcasts(id),
    unit_id      INTEGER NOT NULL REFERENCES units(id),
    user_id      TEXT NOT NULL,
    user_name    TEXT NOT NULL DEFAULT '',
    at           TEXT NOT NULL,
    late         INTEGER NOT NULL DEFAULT 0,
    counted      INTEGER NOT NULL DEFAULT 1,
    via          TEXT NOT NULL DEFAULT 'command' CHECK (via IN ('command', 'reply', 'admin')),
    proof_url    TEXT,
    proof_image  TEXT,
    note         TEXT
);
CREATE UNIQUE INDEX broadcast_confirmations_counted ON broadcast_confirmations(task_id, unit_id) WHERE counted = 1;
CREATE INDEX broadcast_confirmations_task_unit ON broadcast_confirmations(task_id, unit_id);
