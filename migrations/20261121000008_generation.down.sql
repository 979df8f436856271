ALTER TABLE boards DROP CONSTRAINT boards_cover_image_fkey;
DROP TABLE images;
DROP TABLE generation_jobs;
DROP FUNCTION app_background_task();
DROP TABLE models;
ALTER TABLE boards DROP CONSTRAINT boards_id_owner_key;
ALTER TABLE users ALTER COLUMN quota_reset_date SET DEFAULT (date_trunc('month', now()) + interval '1 month');
DROP FUNCTION next_quota_reset();
