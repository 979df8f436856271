DROP FUNCTION tenant_image_page(uuid, uuid, boolean, bigint, bigint);
