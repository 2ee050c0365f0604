-- The table Kamailio's acc module writes one CDR per call into (docs/switches/kamailio.cfg with
-- -A WITH_MYSQL, MySQL/MariaDB). start_time, end_time and duration are acc's own columns; the others are the
-- cfg's cdr_extra names, NULL when a call has no such value (no answer_time when it failed).
CREATE TABLE IF NOT EXISTS dialstat_cdr (
    id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    start_time DATETIME NULL,
    end_time DATETIME NULL,
    duration DOUBLE NULL,
    callid VARCHAR(255) NULL,
    src_user VARCHAR(64) NULL,
    dst_user VARCHAR(64) NULL,
    src_ip VARCHAR(64) NULL,
    accountcode VARCHAR(64) NULL,
    invite_time VARCHAR(32) NULL,
    answer_time VARCHAR(32) NULL,
    end_time_us VARCHAR(32) NULL,
    sip_code VARCHAR(3) NULL,
    sip_reason VARCHAR(128) NULL
);
