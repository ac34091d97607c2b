-- issue 22.5: the last message the bot saw in each alliance group, so that what members did while it was away is
-- read back from the group's history at the next connect. `at` is the client's time of that message (seconds), `keys`
-- the JSON list of the keys of the messages seen at that very second (to tell them from newer ones of the same second).
CREATE TABLE group_seen (
    group_id  TEXT PRIMARY KEY,
    at        INTEGER NOT NULL,
    keys      TEXT NOT NULL DEFAULT '[]'
) WITHOUT ROWID;
