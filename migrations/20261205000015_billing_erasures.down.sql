GRANT EXECUTE ON FUNCTION tenant_image_page(uuid, uuid, boolean, bigint, bigint) TO PUBLIC;
ALTER FUNCTION tenant_image_page(uuid, uuid, boolean, bigint, bigint) RESET search_path;
DROP TABLE IF EXISTS billing_erasures;
