DROP INDEX boards_user_id_name_key;
