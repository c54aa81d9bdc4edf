-- The setting a file of kind setting is the value of: only that setting
-- deletes it when it changes; another setting whose value looks the same
-- is plain JSON. Files set before name the first setting that refers to
-- them.
ALTER TABLE attachments ADD COLUMN setting text NOT NULL DEFAULT '';

UPDATE attachments a SET setting = COALESCE((
    SELECT min(s.name) FROM instance_settings s
    WHERE jsonb_typeof(s.value::jsonb) = 'object'
      AND (s.value::jsonb -> 'content_type') IS NOT NULL
      AND (s.value::jsonb ->> 'attachment') = a.id::text), '')
WHERE a.kind = 'setting';
