"""The one way a message leaves: persisted first, sent one at a time with a gap, never blindly re-sent.

A row is `pending` until the worker takes it. The worker marks it `sending` (committed) before it
calls the client, then `sent` (with the client's message id), `failed` (the client said no), or
`unknown` (no answer: it may have been delivered, so it is not sent again). A row found `sending`
at start-up was cut off by a crash and becomes `unknown` for the same reason. Rows wait as
`pending` while no QQ client is connected and go out, in order, when one connects.

How it stays fair and quiet (issue 15):
- it chooses by `priority`: answers someone is waiting for, then announcements and notices, then
  acknowledgements, then nudges and reminders; within one priority, in order (a multi-part answer
  stays in order);
- an acknowledgement (`ack`) is a reaction on the person's message where the account's client
  supports it, in a lane of its own with its own small gap; otherwise acknowledgements to the same
  chat are merged into one message (at most `at_batch` of them, gathered over `ack_window`
  seconds): the first row carries the merged text, the others become `merged` into it;
- after a stall (start, reconnect) nothing is flushed as a burst: acknowledgements older than
  `ack_max_age` are `dropped` (the confirmation stays recorded), and several nudges owed for the
  same task become the latest one (the older ones `merged` into it); both show in `problems()`;
- several QQ accounts: each row has the `account` that sends it (the group's account, or the account
  the person talks to; NULL means the primary account), each connected account its own send budget.
  Only configured accounts (or, when none is configured, the first one that connected) may attach:
  another account never takes over the outbox.

The package: records, service (Outbox: queueing and the sending worker), and the parts it holds: accounts
(QQAccounts), reactions (OutboxReactions), askers (AnswerTurns), outcomes (SendOutcomes), keys (MessageKeys),
merging (OutboxMerging), reading (OutboxReading); leaving (the privacy filter on the way out).
"""
