-- Images that are not (yet) the user's pictures: 'asset' (an upload an edit starts from, such as
-- a canvas's base or mask) and 'staged' (a canvas result waiting to be accepted or discarded).
-- Both are the user's images in every other way: row-level security, storage budget, export,
-- deletion. Only the gallery and boards' counts leave them out.
ALTER TABLE images DROP CONSTRAINT images_origin_check;
ALTER TABLE images ADD CONSTRAINT images_origin_check
    CHECK (origin IN ('generated', 'uploaded', 'asset', 'staged'));

CREATE OR REPLACE FUNCTION tenant_image_page(
    p_user uuid, p_board uuid, p_starred boolean, p_offset bigint, p_limit bigint
) RETURNS TABLE (
    image_id uuid, user_id uuid, board_id uuid, job_id uuid, origin text, storage_key text,
    thumbnail_key text, content_type text, width integer, height integer, byte_size bigint,
    params text, starred boolean, created_at timestamptz, total bigint
)
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_user IS NULL THEN
        RAISE EXCEPTION 'tenant_image_page needs a user';
    END IF;
    PERFORM set_config('app.current_user_id', p_user::text, true);
    RETURN QUERY
        SELECT i.image_id, i.user_id, i.board_id, i.job_id, i.origin, i.storage_key,
               i.thumbnail_key, i.content_type, i.width, i.height, i.byte_size, i.params::text,
               i.starred, i.created_at,
               (SELECT count(*) FROM images c
                 WHERE c.user_id = p_user AND (p_board IS NULL OR c.board_id = p_board)
                   AND (NOT p_starred OR c.starred) AND c.origin IN ('generated', 'uploaded'))
          FROM images i
         WHERE i.user_id = p_user AND (p_board IS NULL OR i.board_id = p_board)
           AND (NOT p_starred OR i.starred) AND i.origin IN ('generated', 'uploaded')
         ORDER BY i.created_at DESC, i.image_id DESC
        OFFSET p_offset LIMIT p_limit;
END;
$$;

-- CREATE OR REPLACE drops the pinned search path (security requirement 60): pin it again.
ALTER FUNCTION tenant_image_page(uuid, uuid, boolean, bigint, bigint) SET search_path FROM CURRENT;
REVOKE EXECUTE ON FUNCTION tenant_image_page(uuid, uuid, boolean, bigint, bigint) FROM PUBLIC;
