"""Every task kind Keiko ships, registered in this one place.

``reminder`` and ``tool`` (``kinds_basic.py``), ``agent``, ``goal``, ``agent_folder`` and its
children's ``agent_file`` (``kinds_agents.py``), ``summarise`` (``kinds_summary.py``),
``transcribe`` (an audio file, ``kinds_voice.py``). Every process registers the same kinds,
so a task added in the window runs in ``keiko tasks worker`` and the other way round; a kind
whose service is missing where it runs fails with a ``TaskError`` that says so. A new kind
is a ``TaskKind`` in a ``kinds_*`` module, added to the list below.
"""

from __future__ import annotations

from keiko_desktop.core.tasks.kinds import TaskKinds, TaskServices
from keiko_desktop.core.tasks.kinds_agents import AGENT_FILE, AGENT_FOLDER, AGENT_KIND, GOAL
from keiko_desktop.core.tasks.kinds_basic import REMINDER, TOOL
from keiko_desktop.core.tasks.kinds_summary import SUMMARISE
from keiko_desktop.core.tasks.kinds_voice import TRANSCRIBE


def builtin_kinds(services: TaskServices) -> TaskKinds:
    """The registry of the shipped kinds. Handlers reach ``services`` through their
    ``TaskContext`` when they run; it is passed here for kinds that depend on what is wired
    (none yet: ``transcribe`` finds the speech engine in its context)."""
    del services
    return TaskKinds(
        [REMINDER, AGENT_KIND, GOAL, AGENT_FOLDER, AGENT_FILE, SUMMARISE, TOOL, TRANSCRIBE]
    )
