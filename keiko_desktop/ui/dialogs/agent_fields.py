"""The agent editor's fields: each one's label (with its key), help text, tab and bounded
editor (bounds from ``core.agents.profiles``), and which field an error names."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QLabel, QSpinBox, QWidget

from keiko_desktop.core.agents.profiles import BOUNDS

FIELD_LABELS = {
    "name": "&Name",
    "icon": "&Icon",
    "description": "&Description",
    "tags": "T&ags",
    "model": "&Model",
    "fallbacks": "&Fallback models",
    "system_prompt": "&System prompt",
    "tools": "Allo&wed tools",
    "temperature": "Tem&perature",
    "max_tokens": "Answer &length",
    "max_steps": "St&ep limit",
    "step_timeout": "Per-step time&out",
    "retries": "&Retries",
    "retry_backoff": "Wait before re&try",
}
FIELD_HELP = {
    "name": "What the agent is called (unique, up to 64 characters)",
    "icon": "The icon shown beside the agent",
    "description": "One or two sentences on what the agent is for",
    "tags": "Capability tags, separated by commas (the planner reads them)",
    "model": "The model the agent thinks with; the chat's model unless you pick another",
    "fallbacks": "Models tried in order when the agent's model cannot be reached (a remote"
    " endpoint is down), separated by commas; empty: the chat's fallbacks",
    "system_prompt": "The instructions the agent follows in every run",
    "tools": "The tools the agent may call; it can never call any other",
    "temperature": "Higher is more varied, lower is more focused (0 to 2)",
    "max_tokens": "The most tokens an answer may have",
    "max_steps": "The most tool calls in one run (0: no tools)",
    "step_timeout": "How long one model or tool call may take",
    "retries": "How often a failed plan step is tried again",
    "retry_backoff": "The wait before the first retry; it doubles after each",
}
FIELD_TAB = {
    **dict.fromkeys(
        ("name", "icon", "description", "tags", "model", "fallbacks", "system_prompt"), 0
    ),
    "tools": 1,
    **dict.fromkeys(
        ("temperature", "max_tokens", "max_steps", "step_timeout", "retries", "retry_backoff"), 2
    ),
}
_FIELD = re.compile(r"^(?:agents\[\d+\]\.)?([a-z_]+)(?:\[(\d+)\])?$")


def field_of(error_field: str) -> tuple[str, int | None]:
    """The profile field (and list index) an ``AgentProfileError.field`` names:
    ``agents[2].tools[1]`` -> (``tools``, 1)."""
    match = _FIELD.match(error_field)
    if match is None:
        return error_field, None
    index = match.group(2)
    return match.group(1), None if index is None else int(index)


def field_label(key: str, parent: QWidget, buddy: QWidget) -> QLabel:
    label = QLabel(FIELD_LABELS[key], parent)
    label.setBuddy(buddy)
    buddy.setAccessibleName(FIELD_LABELS[key].replace("&", ""))
    buddy.setToolTip(FIELD_HELP[key])
    buddy.setAccessibleDescription(FIELD_HELP[key])
    return label


def spin_box(key: str, parent: QWidget, suffix: str = "") -> QSpinBox:
    _kind, low, high = BOUNDS[key]
    box = QSpinBox(parent)
    box.setRange(int(low), int(high))
    box.setSuffix(suffix)
    box.setAccelerated(True)
    box.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
    return box


def double_box(
    key: str, parent: QWidget, step: float, decimals: int, suffix: str
) -> QDoubleSpinBox:
    _kind, low, high = BOUNDS[key]
    box = QDoubleSpinBox(parent)
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setAccelerated(True)
    return box
