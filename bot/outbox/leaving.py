"""The last step before a message leaves for a group: the privacy filter (phone numbers masked, files as masked copies)."""

from __future__ import annotations

from pathlib import Path

from bot import privacy
from bot.outbox.records import SendFailed
from bot.render import Segment


async def leaving(target_type: str, message: list[Segment]) -> list[Segment]:
    """A message on its way out through the privacy filter (bot/privacy.py): to a group, every phone number in its text,
    its folded lists and the name of a file it uploads is masked, and the file itself is a masked copy (or, when
    its text cannot be checked, not sent: the send fails and the text alternative goes instead)."""
    if target_type != "group":
        return message
    out = privacy.mask_segments(message)
    for seg in out:
        if seg["type"] == "upload":
            try:
                seg["data"]["file"] = str(await privacy.for_audience(Path(seg["data"]["file"]), office=False))
            except (privacy.CannotMask, OSError) as e:
                raise SendFailed(f"文件不能发到群里（{e}）") from None
    return out
