"""Voice: speech in and out, without an engine (``speech/`` has faster-whisper and piper).

``types`` (clips, transcripts, options), ``ports`` (Transcriber, Synthesizer, AudioOutput),
``events``, the pure parts (``sentences``: what of a reply is read aloud; ``levels`` and
``turns``: the level meter and voice-activity turn ends), ``read_aloud`` (a reply spoken
sentence by sentence while it streams) and ``service`` (``VoiceService``, the one door).
"""
