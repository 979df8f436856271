DROP TABLE IF EXISTS mail_outbox;
DROP TABLE IF EXISTS email_tokens;
DROP TRIGGER IF EXISTS images_count_storage ON images;
DROP FUNCTION IF EXISTS images_count_storage();
ALTER TABLE users DROP COLUMN IF EXISTS stored_bytes, DROP COLUMN IF EXISTS stored_images;
