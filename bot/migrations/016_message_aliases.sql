-- Issue 22: the new short ids a client gave the bot's old group messages after it forgot the first (NapCat keeps the
-- latest 5,000 short ids in memory only). Found by group and sequence when a reply or a reaction named one; kept so
-- the catch-up of reactions asks the client by the id it knows the message by now (统发 keeps them in
-- broadcast_posts; this is for every other message about something, e.g. a 报送 notice). `outbox_id` is the bot's
-- message (outbox.id).
CREATE TABLE outbox_aliases (
    message_id  TEXT PRIMARY KEY,
    outbox_id   INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE
);
CREATE INDEX outbox_aliases_row ON outbox_aliases(outbox_id);
