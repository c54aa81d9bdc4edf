-- The setting a file of kind setting is the value of: only that setting
-- deletes it when it changes; another setting whose value looks the same
-- is plain JSON. Files set before name the first setting that refers to
-- them.
ALTER TABLE attachments ADD COLUMN setting TEXT NOT NULL DEFAULT '';

UPDATE attachments SET setting = COALESCE((
    SELECT min(s.name) FROM instance_settings s
    WHERE json_valid(s.value) AND json_type(s.value) = 'object'
      AND json_type(s.value, '$.content_type') IS NOT NULL
      AND json_extract(s.value, '$.attachment') = attachments.id), '')
WHERE kind = 'setting';
