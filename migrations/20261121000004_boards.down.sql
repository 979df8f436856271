DROP TABLE boards;
DROP PROCEDURE make_tenant_table(regclass);
DROP FUNCTION app_is_staff();
DROP FUNCTION app_current_user_id();
