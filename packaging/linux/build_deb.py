"""Build ``keiko-desktop_<version>_<arch>.deb`` from the PyInstaller one-folder bundle.

    python packaging/linux/build_deb.py --bundle dist/keiko --out dist

The package installs the bundle under ``/opt/keiko``, ``/usr/bin/keiko`` (a link to it), the
``.desktop`` entry and the icon, so a software centre lists and opens it. Its maintainer
scripts only refresh the desktop and icon caches: the user's data (``~/.local/share/keiko``,
``~/.config/keiko``) is never touched by an install, an upgrade or a removal, and every file
the package put down is dpkg's to remove. Built with ``dpkg-deb --root-owner-group``, so no
file belongs to the builder.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ICON = ROOT / "keiko_desktop" / "resources" / "icons" / "keiko.svg"
PACKAGE = "keiko-desktop"
# What the bundle's Qt (xcb platform, multimedia) and PortAudio-free audio need from the system;
# everything else (Python, Qt, llama.cpp, ctranslate2, onnxruntime) is inside the bundle.
DEPENDS = (
    "libc6 (>= 2.36), libstdc++6, libgl1, libegl1, libfontconfig1, libfreetype6, "
    "libx11-6, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, "
    "libxcb-image0, libxcb-render-util0, libxcb-shape0, libxcb-xkb1, libxcb-randr0, "
    "libxkbcommon0, libxkbcommon-x11-0, libdbus-1-3, libglib2.0-0"
)
RECOMMENDS = "libpulse0, xdg-utils"
REFRESH = """#!/bin/sh
set -e
# Refresh the menus and icon caches (of DPKG_ROOT's system: "" normally); nothing of the
# user's is touched.
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q "$DPKG_ROOT/usr/share/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then
  gtk-update-icon-cache -q -t "$DPKG_ROOT/usr/share/icons/hicolor" || true
fi
exit 0
"""


def control(version: str, arch: str, installed_kib: int) -> str:
    return (
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        "Maintainer: Keiko Desktop <keiko@example.invalid>\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {DEPENDS}\n"
        f"Recommends: {RECOMMENDS}\n"
        "Section: utils\n"
        "Priority: optional\n"
        "Homepage: https://example.invalid/keiko\n"
        "Description: local-first AI assistant for the desktop\n"
        " Keiko chats with a local language model (a small one is included), listens\n"
        " (push-to-talk) and speaks its replies, runs agents and background tasks, and\n"
        " uses MCP tools. Everything stays on this computer unless you add a server.\n"
    )


def deb_version(version: str) -> str:
    """A Debian version from the Python one (``0.1.0rc1`` → ``0.1.0~rc1``)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)*)(?:[.-]?((?:a|b|rc|dev)\d*))?", version)
    if match is None:
        raise SystemExit(f"cannot make a Debian version of {version!r}")
    release, pre = match.groups()
    return f"{release}~{pre}" if pre else release


def _size_kib(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return (total + 1023) // 1024


def stage(bundle: Path, root: Path, version: str, arch: str) -> None:
    """Lay the package's files out under ``root`` (the future ``/``)."""
    if not (bundle / "keiko").is_file():
        raise SystemExit(f"{bundle} is not a PyInstaller bundle of keiko (no {bundle}/keiko)")
    opt = root / "opt" / "keiko"
    shutil.copytree(bundle, opt, symlinks=True)
    for path in opt.rglob("*"):  # readable by all, writable by root only
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        executable = path.is_dir() or mode & stat.S_IXUSR
        path.chmod(0o755 if executable else 0o644)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "keiko").symlink_to("/opt/keiko/keiko")
    apps = root / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    shutil.copy2(HERE / f"{PACKAGE}.desktop", apps / f"{PACKAGE}.desktop")
    icons = root / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps"
    icons.mkdir(parents=True)
    shutil.copy2(ICON, icons / f"{PACKAGE}.svg")
    doc = root / "usr" / "share" / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Keiko Desktop. The bundled models and voices keep their own licenses:\n"
        "SmolLM2-135M-Instruct (Apache-2.0), faster-whisper tiny.en (MIT), Piper en_US joe.\n"
    )
    for path in (apps / f"{PACKAGE}.desktop", icons / f"{PACKAGE}.svg", doc / "copyright"):
        path.chmod(0o644)
    debian = root / "DEBIAN"
    debian.mkdir()
    (debian / "control").write_text(control(version, arch, _size_kib(root)))
    for script in ("postinst", "postrm"):
        (debian / script).write_text(REFRESH)
        (debian / script).chmod(0o755)


def build(bundle: Path, out: Path, version: str, arch: str = "amd64") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{PACKAGE}_{version}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix="keiko-deb-") as work:
        root = Path(work) / "root"
        root.mkdir(mode=0o755)
        stage(bundle, root, version, arch)
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zzstd", "--build", str(root), str(target)],
            check=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "0")},
        )
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "keiko")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--version", default="")
    args = parser.parse_args(argv)
    version = args.version
    if not version:
        sys.path.insert(0, str(ROOT))
        from keiko_desktop import __version__

        version = __version__
    target = build(args.bundle, args.out, deb_version(version))
    print(f"{target} ({target.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
