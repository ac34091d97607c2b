"""The numbers an operator watches (issue 25 §2), in Prometheus' format through `prometheus-client`.

Counters and the latency histogram are counted where the thing happens (the outbox's sends, the confirmations
recorded, the commands run, the errors logged); the gauges (backlog, clients, disk, last tick, last backup) are
read from the health report each time `/metrics` is asked for (bot/health.py `metrics_text`). One registry of our own, so a test that builds
another App counts on and nothing is registered twice.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # memory, CPU, open files of the bot's own process

EVENTS = Counter(
    "alliance_events", "Events received from the QQ clients, by OneBot post type", ["type"], registry=REGISTRY
)
MESSAGES_OUT = Counter(
    "alliance_messages_out",
    "Messages and reactions that left the outbox, by kind (answer, notice, ack, nudge, reaction) and outcome",
    ["kind", "outcome"],
    registry=REGISTRY,
)
REACTIONS = Counter("alliance_reactions", "Confirming reactions (表情回应) received from members", registry=REGISTRY)
CONFIRMATIONS = Counter(
    "alliance_confirmations",
    "Confirmations recorded: broadcast (统发 已转发), return (报送 已报送)",
    ["what"],
    registry=REGISTRY,
)
COMMAND_SECONDS = Histogram(
    "alliance_command_seconds",
    "Time from a command's arrival to its answer being queued",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
ERRORS = Counter(
    "alliance_errors", "Errors logged (level ERROR or worse), by where they came from", ["source"], registry=REGISTRY
)

HEALTHY = Gauge("alliance_healthy", "1 when /healthz answers 200, else 0", registry=REGISTRY)
DB_WRITABLE = Gauge(
    "alliance_database_writable", "1 when a write to the database succeeded just now", registry=REGISTRY
)
CONNECTED = Gauge(
    "alliance_client_connected", "1 when the QQ account's client is connected", ["account"], registry=REGISTRY
)
AWAY_SECONDS = Gauge(
    "alliance_client_disconnected_seconds",
    "Seconds the QQ account has been disconnected (0 when connected)",
    ["account"],
    registry=REGISTRY,
)
BACKLOG = Gauge("alliance_outbox_backlog", "Messages waiting in the outbox", registry=REGISTRY)
OLDEST = Gauge(
    "alliance_outbox_oldest_seconds", "Age of the oldest message waiting in the outbox (0 when none)", registry=REGISTRY
)
TICK_AGE = Gauge(
    "alliance_reminder_tick_age_seconds", "Seconds since the reminder loop last checked", registry=REGISTRY
)
DISK_FREE = Gauge("alliance_disk_free_bytes", "Free space on the disk of the data folder", registry=REGISTRY)
DB_BYTES = Gauge("alliance_database_bytes", "Size of the SQLite file and its WAL", registry=REGISTRY)
BACKUP_TIME = Gauge(
    "alliance_last_backup_timestamp_seconds", "When the newest backup was made (0 when none)", registry=REGISTRY
)
UPTIME = Gauge("alliance_uptime_seconds", "Seconds since the bot started", registry=REGISTRY)

KINDS = {0: "answer", 1: "notice", 2: "ack", 3: "nudge"}


def sent(priority: int | None, outcome: str) -> None:
    """A message left the outbox (or was settled without leaving: failed, unknown)."""
    MESSAGES_OUT.labels(KINDS.get(priority if priority is not None else -1, "other"), outcome).inc()
