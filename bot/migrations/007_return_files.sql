-- Returns as files (issue 16): what a return expects (an official layout, the admin's template, a scanned
-- copy), every file handed in (kept under the data folder with a generated name; the original name is data),
-- and the rows of each checked form, parsed once when the file arrives so a merge never rereads the files.
ALTER TABLE returns ADD COLUMN form TEXT NOT NULL DEFAULT '';
ALTER TABLE returns ADD COLUMN wants_scan INTEGER NOT NULL DEFAULT 0;
ALTER TABLE returns ADD COLUMN template_file INTEGER;
-- '' (nothing handed in, or handed in another way), '需修改' (the latest form has problems), '通过', '已接受'
ALTER TABLE return_units ADD COLUMN file_state TEXT NOT NULL DEFAULT '';

CREATE TABLE return_files (
    id                INTEGER PRIMARY KEY,
    return_id         INTEGER REFERENCES returns(id),
    unit_id           INTEGER REFERENCES units(id),
    kind              TEXT NOT NULL CHECK (kind IN ('表格', '扫描件', '模板')),
    state             TEXT NOT NULL CHECK (state IN ('待确认', '通过', '需修改', '已接受', '已替换', '已保存')),
    original_name     TEXT NOT NULL,
    stored_name       TEXT NOT NULL,
    size              INTEGER NOT NULL,
    sha256            TEXT NOT NULL,
    source_id         TEXT NOT NULL DEFAULT '',
    uploaded_by       TEXT NOT NULL,
    uploaded_by_name  TEXT NOT NULL DEFAULT '',
    chat              TEXT NOT NULL DEFAULT '',
    uploaded_at       TEXT NOT NULL,
    rows              INTEGER NOT NULL DEFAULT 0,
    problems          TEXT NOT NULL DEFAULT '[]',
    headers           TEXT NOT NULL DEFAULT '[]',
    decided_by        TEXT
);
CREATE INDEX return_files_return ON return_files(return_id, unit_id);
CREATE INDEX return_files_uploader ON return_files(uploaded_by, state);
CREATE UNIQUE INDEX return_files_source ON return_files(source_id) WHERE source_id <> '';

CREATE TABLE return_rows (
    file_id  INTEGER NOT NULL REFERENCES return_files(id),
    row_no   INTEGER NOT NULL,
    cells    TEXT NOT NULL,
    PRIMARY KEY (file_id, row_no)
) WITHOUT ROWID;
