-- issue 24.3: each level runs its own work. A task created by a city admin belongs to the unit they were appointed
-- for (`owner_unit_id`; NULL: the province's task, as every task before). It owes only units of that unit's
-- subtree, and only that admin (or a province admin) may end or withdraw it.
ALTER TABLE broadcasts ADD COLUMN owner_unit_id INTEGER REFERENCES units(id);
ALTER TABLE returns ADD COLUMN owner_unit_id INTEGER REFERENCES units(id);

-- A city's own group (/群 归属 <城市>, by a province admin): an alliance group tied to a city's 市教育局. The city's
-- own tasks and nudges are announced there; a group tied to no city is a province group.
CREATE TABLE city_groups (
    group_id  TEXT PRIMARY KEY,
    unit_id   INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    set_by    TEXT NOT NULL,
    set_at    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX city_groups_unit ON city_groups(unit_id);
