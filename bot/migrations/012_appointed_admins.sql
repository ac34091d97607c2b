-- issue 24.1: city admins (市级管理员), appointed by a province admin for a unit's subtree with /管理员 任命 and removed
-- with /管理员 撤销. One row per (person, unit); a person appointed for two units acts in both subtrees.
CREATE TABLE appointed_admins (
    user_id      TEXT NOT NULL,
    unit_id      INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    appointed_by TEXT NOT NULL,
    appointed_at TEXT NOT NULL,
    PRIMARY KEY (user_id, unit_id)
) WITHOUT ROWID;
