"""Attachments: files put into a chat, their extracted text, its chunks, and what a turn cites.

``types`` holds the values, ``ports`` what the adapters implement (the extractor in
``keiko_desktop.documents``, the repository in ``keiko_desktop.store.attachments``), ``chunking``
cuts extracted text into passages, ``prompt`` puts passages into a turn as data and finds the
citations in a reply, and ``service.AttachmentService`` is the one door (window and CLI).
"""
