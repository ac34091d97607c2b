"""Who a command is for, as /帮助 labels it."""

from __future__ import annotations

ANYONE, OPERATOR, ADMIN = "所有人", "联络员", "管理员"

ROLES = (ANYONE, OPERATOR, ADMIN)
