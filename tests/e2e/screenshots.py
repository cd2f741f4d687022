"""Screenshots of the real window, light and dark, under Xvfb.

    .venv/bin/python tests/e2e/screenshots.py [--out screenshots] [--no-model]

Seeds a fresh KEIKO_HOME with a few conversations (one with a heading, a list, a table, a link,
inline code and a Python code block, and an interrupted reply), starts the real window on the
real core (database and bundled model), and saves PNGs of the chat, the empty state, the
placeholder pages, search and settings, in both themes. Without a display it re-runs itself
under ``xvfb-run``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MARKDOWN_REPLY = """## Reading a CSV file in Python

Python's standard library has everything you need. Here is the short version:

- Use the `csv` module for plain files.
- Use **pandas** when you want to analyse the data.
- Always open files with an explicit `encoding`.

| Approach | Good for | Speed |
|---|---|---|
| `csv.reader` | simple rows | fast |
| `csv.DictReader` | named columns | fast |
| `pandas.read_csv` | analysis | fastest for big files |

```python
import csv
from pathlib import Path


def read_rows(path: Path) -> list[dict[str, str]]:
    \"\"\"Return every row of a CSV file as a dict.\"\"\"
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


rows = read_rows(Path("people.csv"))
print(f"{len(rows)} rows")  # 42 rows
```

See the [csv module documentation](https://docs.python.org/3/library/csv.html) for the details.
"""


async def seed(paths: object) -> None:
    from keiko_desktop.core.config import Paths
    from keiko_desktop.core.ports import MessageUpdate
    from keiko_desktop.store import open_database

    assert isinstance(paths, Paths)
    db = await open_database(paths.database)
    repo = db.conversations
    older = await repo.create_conversation("Weekend trip ideas")
    await repo.add_message(older.id, "user", "Give me three ideas for a rainy weekend.")
    m = await repo.add_message(older.id, "assistant", "", status="streaming")
    await repo.update_message(
        m.id,
        MessageUpdate(
            content="1. Visit a museum you have never been to.\n2. Cook something",
            status="interrupted",
            model="smollm2-135m-instruct",
        ),
    )
    pinned = await repo.create_conversation("Release checklist")
    await repo.set_pinned(pinned.id, True)
    await repo.add_message(pinned.id, "user", "What goes into a release checklist?")
    await repo.add_message(pinned.id, "assistant", "Tests, changelog, version bump, tag.")
    for title in ("Haiku about autumn", "SQL join types", "Explain asyncio.gather"):
        c = await repo.create_conversation(title)
        await repo.add_message(c.id, "user", f"Tell me about: {title}")
        await repo.add_message(c.id, "assistant", "Sure — here is a short answer.")
    chat = await repo.create_conversation("Reading CSV files in Python")
    await repo.add_message(chat.id, "user", "How do I read a CSV file in Python?")
    reply = await repo.add_message(chat.id, "assistant", "", status="streaming")
    await repo.update_message(
        reply.id,
        MessageUpdate(
            content=MARKDOWN_REPLY,
            status="complete",
            model="smollm2-135m-instruct",
            prompt_tokens=61,
            completion_tokens=298,
            time_to_first_token=0.21,
            tokens_per_second=48.7,
            duration=6.3,
        ),
    )
    await repo.add_message(chat.id, "user", "Thanks! Can pandas do the same in one line?")
    last = await repo.add_message(chat.id, "assistant", "", status="streaming")
    await repo.update_message(
        last.id,
        MessageUpdate(
            content='Yes: `pd.read_csv("people.csv")` returns a DataFrame.',
            status="complete",
            model="smollm2-135m-instruct",
            completion_tokens=17,
            tokens_per_second=51.2,
            duration=0.4,
        ),
    )
    await db.aclose()


async def shoot(out: Path, with_model: bool) -> None:
    from PySide6.QtWidgets import QApplication

    from keiko_desktop.core.config import Paths, load_settings
    from keiko_desktop.ui.controller import AppController
    from keiko_desktop.ui.main_window import MainWindow
    from keiko_desktop.ui.theme import ThemeManager
    from keiko_desktop.ui.window_state import WindowState

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    paths = Paths.from_env()
    paths.ensure()
    await seed(paths)
    settings = load_settings(paths)
    themes = ThemeManager(app, "light")
    window = MainWindow(themes, WindowState(paths.config_dir))
    window.resize(1280, 820)
    window.show()
    controller = AppController(window, themes)
    core = await controller.start(paths=paths, settings=settings, start_model=with_model)

    async def settle(seconds: float = 0.4) -> None:
        await asyncio.sleep(seconds)
        app.processEvents()

    async def grab(name: str) -> None:
        await settle()
        path = out / f"{name}.png"
        window.grab().save(str(path))
        print(f"saved {path}")

    if with_model:
        for _ in range(200):
            if core.models.state in ("ready", "error"):
                break
            await asyncio.sleep(0.05)
    ids = window.sidebar.conversation_ids()
    csv_chat = next(i for i in ids if window.sidebar.title_of(i).startswith("Reading CSV"))
    trip = next(i for i in ids if window.sidebar.title_of(i).startswith("Weekend"))
    for theme in ("light", "dark"):
        themes.set_preference(theme)
        controller.chat.open_conversation(csv_chat)
        await settle(0.6)
        window.chat_panel.view.scroll_to_bottom()
        await grab(f"chat-{theme}")
        view = window.chat_panel.view
        view.verticalScrollBar().setValue(0)
        await grab(f"chat-top-{theme}")
        controller.chat.open_conversation(trip)
        await grab(f"interrupted-{theme}")
        controller.chat.new_chat()
        window.chat_panel.composer.set_text("Summarise this article in three bullet points")
        await grab(f"empty-{theme}")
        window.chat_panel.composer.clear()
        window.show_page("agents")
        await grab(f"agents-{theme}")
        window.show_page("chat")
        dialog = controller.search.open()
        dialog.query.setText("csv")
        await settle(0.6)
        dialog.grab().save(str(out / f"search-{theme}.png"))
        print(f"saved {out / f'search-{theme}.png'}")
        dialog.close()
        controller.settings.open()
        await settle(0.4)
        assert controller.settings.dialog is not None
        controller.settings.dialog.grab().save(str(out / f"settings-{theme}.png"))
        print(f"saved {out / f'settings-{theme}.png'}")
        controller.settings.dialog.close()
    await controller.shutdown()
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--no-model", action="store_true", help="do not load the model")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            print("No display and no xvfb-run: apt-get install xvfb (see this file's docstring).")
            return 2
        cmd = [xvfb, "-a", "-s", "-screen 0 1400x900x24", sys.executable, *sys.argv]
        return subprocess.call(cmd)
    args.out.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp(prefix="keiko-shots-")
    os.environ["KEIKO_HOME"] = home
    from PySide6.QtWidgets import QApplication

    from keiko_desktop.ui.event_loop import create_event_loop

    app = QApplication(sys.argv[:1])
    loop = create_event_loop(app)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(shoot(args.out.resolve(), not args.no_model))
    finally:
        loop.close()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
