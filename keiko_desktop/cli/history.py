"""`keiko history`: list conversations, show one, or search every message."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from keiko_desktop.cli.common import error, run_async, show
from keiko_desktop.core.config import Paths
from keiko_desktop.store import open_database


def run_history(args: argparse.Namespace) -> int:
    return run_async(lambda: _history(args))


async def _history(args: argparse.Namespace) -> int:
    database = await open_database(Paths.from_env().database)
    repo = database.conversations
    try:
        await repo.mark_streaming_interrupted()
        if args.search:
            hits = await repo.search(args.search, limit=args.limit)
            if args.json:
                print(json.dumps([asdict(h) for h in hits]))
            elif not hits:
                show(f"No messages match {args.search!r}.")
            for h in [] if args.json else hits:
                show(f"#{h.conversation_id} {h.conversation_title or 'Untitled'}  [{h.role}]")
                show(f"    {h.snippet}")
            return 0
        if args.conversation is not None:
            conversation = await repo.get_conversation(args.conversation)
            if conversation is None:
                error(f"there is no conversation {args.conversation}; run `keiko history`")
                return 1
            messages = await repo.list_messages(args.conversation)
            if args.json:
                print(json.dumps([asdict(m) for m in messages], default=str))
                return 0
            show(f"#{conversation.id} {conversation.title or 'Untitled'}")
            for m in messages:
                mark = "" if m.status == "complete" else f" [{m.status}]"
                show(f"\n{m.role}{mark}:\n{m.content}")
            return 0
        conversations = await repo.list_conversations(limit=args.limit)
        if args.json:
            print(json.dumps([asdict(c) for c in conversations], default=str))
            return 0
        if not conversations:
            print("No conversations yet. Start one with `keiko ask` or `keiko chat`.")
        for c in conversations:
            when = c.updated_at.strftime("%Y-%m-%d %H:%M")
            show(f"#{c.id:<5} {when}  {c.message_count:>4} msgs  {c.title or 'Untitled'}")
        return 0
    finally:
        await database.aclose()
