"""A keyring backend in a JSON file, for tests that run Keiko as a subprocess (the machine has
no keychain). Chosen with keyring's own switch, ``PYTHON_KEYRING_BACKEND``, and the file in
``KEIKO_TEST_KEYRING``: ``env()`` gives both, with the repo on the path."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend

REPO = Path(__file__).resolve().parents[2]


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def _file(self) -> Path:
        return Path(os.environ["KEIKO_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self._file.read_text())
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\t{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\t{username}"] = password
        self._file.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        data.pop(f"{service}\t{username}", None)
        self._file.write_text(json.dumps(data))


def env(keyring_file: Path) -> dict[str, str]:
    """Environment entries that make a child process use ``keyring_file`` as its keychain."""
    path = os.environ.get("PYTHONPATH", "")
    return {
        "PYTHON_KEYRING_BACKEND": "tests.helpers.file_keyring.FileKeyring",
        "KEIKO_TEST_KEYRING": str(keyring_file),
        "PYTHONPATH": f"{REPO}{os.pathsep}{path}" if path else str(REPO),
    }
