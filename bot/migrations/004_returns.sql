-- Returns (报送): a task with a deadline, the units that owe it (fixed when it is created),
-- and each unit's submission, kept with who submitted it, when, how, and whether it was late.
CREATE TABLE returns (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    deadline    TEXT NOT NULL,
    scope       TEXT NOT NULL DEFAULT '全部单位',
    state       TEXT NOT NULL DEFAULT '进行中' CHECK (state IN ('进行中', '已结束')),
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    closed_by   TEXT,
    closed_at   TEXT
);
CREATE INDEX returns_state ON returns(state);

CREATE TABLE return_units (
    return_id          INTEGER NOT NULL REFERENCES returns(id),
    unit_id            INTEGER NOT NULL REFERENCES units(id),
    submitted_at       TEXT,
    submitted_by       TEXT,
    submitted_by_name  TEXT NOT NULL DEFAULT '',
    via                TEXT CHECK (via IS NULL OR via IN ('本人', '管理员登记')),
    note               TEXT NOT NULL DEFAULT '',
    late               INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (return_id, unit_id)
);
CREATE INDEX return_units_unit ON return_units(unit_id);
