"""Who a help topic is written for (a label in its declaration; /帮助 reads who may use what from the commands' own
declarations, plugins/_registry.py)."""

from __future__ import annotations

ANYONE, OPERATOR, ADMIN = "所有人", "联络员", "管理员"
