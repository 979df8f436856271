DROP TABLE admin_audit_log;
