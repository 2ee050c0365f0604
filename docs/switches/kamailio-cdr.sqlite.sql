-- The table Kamailio's acc module writes one CDR per call into (docs/switches/kamailio.cfg, SQLite).
-- start_time, end_time and duration are acc's own columns (db_sqlite stores the times as Julian days);
-- the others are the cfg's cdr_extra names, NULL when a call has no such value (no answer_time when failed).
-- WAL: Dialstat's collector reading the file never blocks Kamailio's writes (db_sqlite has no busy timeout:
-- a write that meets a lock is lost). Prefer MySQL or PostgreSQL for a busy proxy (several workers write).
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS dialstat_cdr (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    start_time TEXT,
    end_time TEXT,
    duration REAL,
    callid VARCHAR(255),
    src_user VARCHAR(64),
    dst_user VARCHAR(64),
    src_ip VARCHAR(64),
    accountcode VARCHAR(64),
    invite_time VARCHAR(32),
    answer_time VARCHAR(32),
    end_time_us VARCHAR(32),
    sip_code VARCHAR(3),
    sip_reason VARCHAR(128)
);
