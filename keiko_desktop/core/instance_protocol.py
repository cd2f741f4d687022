"""What a second launch asks the running Keiko (the single instance, ``ui/single_instance.py``).

One JSON object per line over a local socket that only the user can open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

InstanceAction = Literal["show", "quick", "ask"]


@dataclass(frozen=True)
class InstanceRequest:
    """``show``: raise the window. ``quick``: open Quick ask (and ask ``text`` if given).
    ``ask``: a new chat in the window asking ``text`` with ``attachments`` (absolute paths)."""

    action: InstanceAction
    text: str = ""
    attachments: tuple[str, ...] = ()
