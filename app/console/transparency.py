"""The console's one hook into the transparency log (issue 13).

There is no log yet, so the answer is None and the pages say "log: not
available". When the log lands, this function is the only place to wire:
return a dict of this shape and the overview and trail pages show it.

    {"checkpoint": {"size": int, "root_hash": str, "timestamp": str,
                    "signature_ok": bool},
     "included": {event_id: bool, ...}}      # only the ids asked about

`event_ids` are the events on the trail page being rendered (empty for the
overview, which shows the checkpoint only).
"""
from __future__ import annotations

from collections.abc import Sequence


async def log_state(app, event_ids: Sequence[str] = ()) -> dict | None:
    return None
