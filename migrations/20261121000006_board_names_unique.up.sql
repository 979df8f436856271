-- A user's board names are unique, whatever their case; another user's boards do not count.
CREATE UNIQUE INDEX boards_user_id_name_key ON boards (user_id, lower(name));
