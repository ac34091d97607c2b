-- Issue 22: the stable key of a message the bot sent to a group. A client's short message_id does not last
-- (NapCat remembers only its latest 5,000 and forgets them at a restart, and may give an old message a new one);
-- the group and the message's sequence (NapCat `real_seq`, LLOneBot `message_seq`, asked with get_msg while the
-- id was fresh) do. Replies, reactions and the catch-up match on it when the short id is unknown.
ALTER TABLE outbox ADD COLUMN message_seq TEXT;
CREATE INDEX outbox_seq ON outbox(target_id, message_seq) WHERE message_seq IS NOT NULL;
