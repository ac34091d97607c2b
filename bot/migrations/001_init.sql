-- Units, operators, registration, accounts and filings, the outbox and the audit log.
-- Times are UTC text 'YYYY-MM-DDTHH:MM:SS'; QQ ids are text.

CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    city        TEXT NOT NULL DEFAULT '',
    students    INTEGER,
    created_at  TEXT NOT NULL,
    deleted_at  TEXT
);
CREATE UNIQUE INDEX units_active_name ON units(name) WHERE deleted_at IS NULL;

CREATE TABLE unit_aliases (
    alias    TEXT PRIMARY KEY,
    unit_id  INTEGER NOT NULL REFERENCES units(id)
);
CREATE INDEX unit_aliases_unit ON unit_aliases(unit_id);

CREATE TABLE applications (
    id             INTEGER PRIMARY KEY,
    user_id        TEXT NOT NULL,
    user_name      TEXT NOT NULL DEFAULT '',
    group_id       TEXT,
    unit_id        INTEGER REFERENCES units(id),
    new_name       TEXT,
    new_category   TEXT,
    new_city       TEXT,
    state          TEXT NOT NULL DEFAULT '待审核' CHECK (state IN ('待审核', '已通过', '已驳回', '已撤销')),
    reason         TEXT,
    created_at     TEXT NOT NULL,
    decided_at     TEXT,
    decided_by     TEXT
);
CREATE INDEX applications_state ON applications(state);
CREATE INDEX applications_user ON applications(user_id);

CREATE TABLE operators (
    user_id     TEXT PRIMARY KEY,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    name        TEXT NOT NULL DEFAULT '',
    group_id    TEXT,
    bound_at    TEXT NOT NULL
);
CREATE INDEX operators_unit ON operators(unit_id);

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    platform    TEXT NOT NULL,
    name        TEXT NOT NULL,
    uid         TEXT NOT NULL DEFAULT '',
    opened_on   TEXT,
    state       TEXT NOT NULL CHECK (state IN ('待审核', '正常', '已注销', '已驳回')),
    created_at  TEXT NOT NULL
);
CREATE INDEX accounts_unit ON accounts(unit_id);

CREATE TABLE filings (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('开设', '变更', '注销')),
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    unit_id       INTEGER NOT NULL REFERENCES units(id),
    changes       TEXT NOT NULL DEFAULT '{}',
    state         TEXT NOT NULL DEFAULT '待审核' CHECK (state IN ('待审核', '已备案', '已驳回')),
    filed_by      TEXT NOT NULL,
    filed_by_name TEXT NOT NULL DEFAULT '',
    filed_at      TEXT NOT NULL,
    decided_by    TEXT,
    decided_at    TEXT,
    reason        TEXT
);
CREATE INDEX filings_state ON filings(state);
CREATE INDEX filings_account ON filings(account_id);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    target_type  TEXT NOT NULL CHECK (target_type IN ('group', 'private')),
    target_id    TEXT NOT NULL,
    message      TEXT NOT NULL,
    ref          TEXT,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    created_at   TEXT NOT NULL,
    sent_at      TEXT,
    message_id   TEXT,
    error        TEXT
);
CREATE INDEX outbox_pending ON outbox(state, id);
CREATE INDEX outbox_ref ON outbox(ref);

CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    unit_id  INTEGER,
    action   TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT ''
);
