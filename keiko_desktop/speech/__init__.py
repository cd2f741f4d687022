"""Speech engines: faster-whisper hears, piper speaks (adapters for ``core.voice.ports``).

``models`` finds the bundled and configured model files, ``audio_files`` decodes and resamples
audio (PyAV), ``whisper`` is the ``Transcriber`` and ``piper_voice`` the ``Synthesizer``. The
engines (faster_whisper, piper, av, numpy) are imported inside functions that run on the
engines' worker threads, so importing this package costs nothing and the window's first paint
never waits for them.
"""
