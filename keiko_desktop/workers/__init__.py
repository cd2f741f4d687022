"""Worker threads for engines that are not thread-safe, bridged to the asyncio loop."""

from keiko_desktop.workers.thread_worker import StreamHandle, ThreadWorker

__all__ = ["StreamHandle", "ThreadWorker"]
