"""The sound card and the keyboard for voice: what is there (``devices``), recording
(``capture``: MicSource, ClipSource, Recorder), playing (``playback``: SpeakerOutput,
play_blocking), the start/end blips (``cues``) and the push-to-talk keys, in the window
(``ptt_keys``) and anywhere on an X11 desktop (``global_hotkey``).

QtMultimedia is imported inside functions, on first use: it costs about 0.2 s, and the window
draws before anything here runs. Importing this package imports nothing heavy.
"""
