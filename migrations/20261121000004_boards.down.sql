DROP TABLE boards;
DROP FUNCTION app_is_staff();
DROP FUNCTION app_current_user_id();
