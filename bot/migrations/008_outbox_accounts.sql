-- Issue 15: a fair outbox serving several QQ accounts, acknowledgements as reactions or merged,
-- confirmations by reaction.
--
-- outbox: `account` is the QQ account (self id) that sends the row (NULL: the primary account);
-- `priority` 0 answer, 1 announcement/notice, 2 acknowledgement, 3 nudge/reminder (lower goes first);
-- `react_to` is the person's message an acknowledgement reacts to (NULL: it goes as a message, merged
-- with others to the same chat); `merged_into` names the row that carried a merged or superseded one.
-- New states: `merged` (went out inside another row's message, or superseded by a newer nudge of the
-- same task) and `dropped` (a stale acknowledgement after a stall: the confirmation stays recorded).
CREATE TABLE outbox_new (
    id           INTEGER PRIMARY KEY,
    target_type  TEXT NOT NULL CHECK (target_type IN ('group', 'private')),
    target_id    TEXT NOT NULL,
    message      TEXT NOT NULL,
    ref          TEXT,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'merged', 'dropped')),
    created_at   TEXT NOT NULL,
    sent_at      TEXT,
    message_id   TEXT,
    error        TEXT,
    fallback     TEXT,
    account      TEXT,
    priority     INTEGER NOT NULL DEFAULT 0,
    react_to     TEXT,
    merged_into  INTEGER
);
INSERT INTO outbox_new (id, target_type, target_id, message, ref, state, created_at, sent_at, message_id, error, fallback,
                        priority)
    SELECT id, target_type, target_id, message, ref, state, created_at, sent_at, message_id, error, fallback,
           CASE WHEN ref IS NULL THEN 0
                WHEN ref LIKE 'reminder:%' OR ref LIKE '%:nudge' OR ref LIKE '%:催办' THEN 3
                ELSE 1 END
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox(state, priority, id);
CREATE INDEX outbox_ref ON outbox(ref);

-- Which QQ account serves each alliance group, as learned from get_group_list (settings override it).
CREATE TABLE group_accounts (
    group_id  TEXT PRIMARY KEY,
    account   TEXT NOT NULL,
    seen_at   TEXT NOT NULL
);

-- A confirmation may come by reaction (表情回应) on the announcement or a nudge.
CREATE TABLE broadcast_confirmations_new (
    id           INTEGER PRIMARY KEY,
    task_id      INTEGER NOT NULL REFERENCES broadcasts(id),
    unit_id      INTEGER NOT NULL REFERENCES units(id),
    user_id      TEXT NOT NULL,
    user_name    TEXT NOT NULL DEFAULT '',
    at           TEXT NOT NULL,
    late         INTEGER NOT NULL DEFAULT 0,
    counted      INTEGER NOT NULL DEFAULT 1,
    via          TEXT NOT NULL DEFAULT 'command' CHECK (via IN ('command', 'reply', 'admin', 'reaction')),
    proof_url    TEXT,
    proof_image  TEXT,
    note         TEXT
);
INSERT INTO broadcast_confirmations_new SELECT * FROM broadcast_confirmations;
DROP TABLE broadcast_confirmations;
ALTER TABLE broadcast_confirmations_new RENAME TO broadcast_confirmations;
CREATE UNIQUE INDEX broadcast_confirmations_counted ON broadcast_confirmations(task_id, unit_id) WHERE counted = 1;
CREATE INDEX broadcast_confirmations_task_unit ON broadcast_confirmations(task_id, unit_id);
