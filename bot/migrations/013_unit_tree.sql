-- issue 24.2: the alliance is a tree (SPEC §13). Every unit has one parent (上级单位); NULL is the province itself,
-- which is the root and not a row. `county` is the unit's 县区 (a school's, to find its 县区教育局; a county
-- bureau's own, when its name does not say it). `parent_fixed` is 1 when a person set the parent (the roster's
-- 上级单位 column, /单位 上级): such a parent stays; the others follow the defaults as units come and go.
ALTER TABLE units ADD COLUMN parent_id INTEGER REFERENCES units(id);
ALTER TABLE units ADD COLUMN county TEXT NOT NULL DEFAULT '';
ALTER TABLE units ADD COLUMN parent_fixed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX units_parent ON units(parent_id);

-- The defaults for the units already there (no unit has a 县区 yet): a 县区教育局 or a school goes under its city's
-- 市教育局 (the first one added, when a city has two); everything else, and a unit of a city without a bureau,
-- stays under the province.
UPDATE units SET parent_id = (
    SELECT b.id FROM units b
    WHERE b.category = '市教育局' AND b.deleted_at IS NULL AND b.id <> units.id AND b.city <> ''
      AND (CASE WHEN substr(b.city, -1) = '市' THEN substr(b.city, 1, length(b.city) - 1) ELSE b.city END)
        = (CASE WHEN substr(units.city, -1) = '市' THEN substr(units.city, 1, length(units.city) - 1) ELSE units.city END)
    ORDER BY b.id LIMIT 1
)
WHERE deleted_at IS NULL AND city <> ''
  AND category IN ('县区教育局', '中职学校', '高中', '初中', '小学', '幼儿园', '其他');
