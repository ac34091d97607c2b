-- Pictures, folded lists and uploads leave through the outbox too: a message the client refuses (an image,
-- a merged-forward message) is replaced by its text alternative, kept here as segments (JSON).
ALTER TABLE outbox ADD COLUMN fallback TEXT;

-- The linked article's title, fetched when a 统发 is posted (NULL when the page could not be read).
ALTER TABLE broadcasts ADD COLUMN article_title TEXT;

-- One private warning per account and stretch without posts: `since` is the day the stretch started
-- (the last post reported, or the day the account was registered with the bot).
CREATE TABLE stale_warnings (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    since       TEXT NOT NULL,
    warned_at   TEXT NOT NULL,
    PRIMARY KEY (account_id, since)
) WITHOUT ROWID;
