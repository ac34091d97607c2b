-- A return may ask for several forms (issue 21: Guangdong asks for 附件1 and 附件2 in one return): `forms` holds
-- them as a JSON list in the order the admin named them, and each handed-in form records which of them it is, so a
-- unit is done when every form has a good file. A return of one form becomes a list of one; `form` goes.
ALTER TABLE returns ADD COLUMN forms TEXT NOT NULL DEFAULT '[]';
UPDATE returns SET forms = json_array(form) WHERE form <> '';
ALTER TABLE return_files ADD COLUMN form TEXT NOT NULL DEFAULT '';
UPDATE return_files SET form = COALESCE((SELECT r.form FROM returns r WHERE r.id = return_files.return_id), '')
    WHERE kind = '表格' AND return_id IS NOT NULL;
ALTER TABLE returns DROP COLUMN form;
