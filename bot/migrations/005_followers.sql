-- Follower counts and post dates reported by operators, per account and day (local dates 'YYYY-MM-DD').
-- One row per account and day: a second report the same day is a correction and replaces the first
-- (the replaced value is kept in the audit log). Clustered by (account_id, day) so "the latest report
-- on or before a day" is one index seek.
CREATE TABLE follower_reports (
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    day          TEXT NOT NULL,
    count        INTEGER NOT NULL CHECK (count >= 0),
    reported_by  TEXT NOT NULL,
    reported_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, day)
) WITHOUT ROWID;

-- Each account's month in one row ('YYYY-MM'), kept in step with follower_reports by the same transaction:
-- its first and last report in the month and the last count before it, so a monthly ranking by count and
-- by growth reads one row per account instead of searching the history.
CREATE TABLE follower_monthly (
    month        TEXT NOT NULL,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    first_day    TEXT NOT NULL,
    first_count  INTEGER NOT NULL,
    last_day     TEXT NOT NULL,
    last_count   INTEGER NOT NULL,
    prev_count   INTEGER,
    PRIMARY KEY (month, account_id)
) WITHOUT ROWID;

-- "The account's latest post was on <day>" (/更新); the latest day reported is the one that counts.
CREATE TABLE post_reports (
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    day          TEXT NOT NULL,
    reported_by  TEXT NOT NULL,
    reported_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, day)
) WITHOUT ROWID;
CREATE INDEX post_reports_day ON post_reports(day, account_id);
