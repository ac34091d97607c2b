-- Returns collected by level (issue 24.3, SPEC §13): `/报送 新建 … 逐级汇总` makes a return whose units under a city
-- hand in to their 市教育局; the city admin checks them and hands one merged file up (return_handups: who signed it
-- off, when, how many of the city's units it holds, the merged file's stored name under return_files/, and the
-- units' files it was built from, so the province's merge holds what the city signed off).
ALTER TABLE returns ADD COLUMN by_level INTEGER NOT NULL DEFAULT 0;

CREATE TABLE return_handups (
    return_id       INTEGER NOT NULL REFERENCES returns(id),
    city_id         INTEGER NOT NULL REFERENCES units(id),
    signed_by       TEXT NOT NULL,
    signed_by_name  TEXT NOT NULL DEFAULT '',
    signed_at       TEXT NOT NULL,
    units_in        INTEGER NOT NULL,
    units_total     INTEGER NOT NULL,
    rows            INTEGER NOT NULL DEFAULT 0,
    stored_name     TEXT NOT NULL DEFAULT '',
    file_ids        TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (return_id, city_id)
);
