"""The Linux package, as a user gets it: `make package` built dist/keiko/ and the .deb; here the
.deb is unpacked (`dpkg-deb -x`) into a temporary root and the installed `keiko --selftest`
passes there; it installs, upgrades and removes with dpkg in a throwaway root (user data kept,
nothing else left); its .desktop entry passes desktop-file-validate; and the bundled app
opens its window under Xvfb (a screenshot in screenshots/package/). Run by `make test-package`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.processes import stop
from tests.helpers.xvfb import XServer, missing_tools

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
SHOTS = ROOT / "screenshots" / "package"


def _deb() -> Path:
    debs = sorted(DIST.glob("keiko-desktop_*_amd64.deb"))
    if not debs:
        pytest.fail("no dist/keiko-desktop_*.deb: run `make package` first")
    return debs[-1]


def _run(*cmd: str | Path, timeout: float = 600, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, check=False, **kw
    )  # type: ignore[call-overload]


def _offline() -> list[str]:
    """A prefix that runs a command with no network at all (a network namespace of its own,
    loopback only), where this machine allows it (root, unshare); else nothing."""
    if shutil.which("unshare") and _run("unshare", "--net", "true", timeout=30).returncode == 0:
        return ["unshare", "--net"]
    return []


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deb-root")
    done = _run("dpkg-deb", "-x", _deb(), root)
    assert done.returncode == 0, done.stderr
    return root


def test_the_package_lays_out_the_app_the_command_the_menu_entry_and_the_icon(
    unpacked: Path,
) -> None:
    assert (unpacked / "opt" / "keiko" / "keiko").is_file()
    assert os.readlink(unpacked / "usr" / "bin" / "keiko") == "/opt/keiko/keiko"
    assert (unpacked / "usr/share/applications/keiko-desktop.desktop").is_file()
    assert (unpacked / "usr/share/icons/hicolor/scalable/apps/keiko-desktop.svg").is_file()
    listing = _run("dpkg-deb", "-c", _deb()).stdout.splitlines()
    assert listing
    assert all(" root/root " in line for line in listing)  # nothing owned by the builder
    paths = [line.split()[5] for line in listing]  # mode, owner, size, date, time, path
    tops = {path.split("/")[1] for path in paths if path != "./"}
    assert tops <= {"opt", "usr"}, tops
    info = _run("dpkg-deb", "-f", _deb(), "Package", "Architecture", "Installed-Size").stdout
    assert "Package: keiko-desktop" in info
    assert "Architecture: amd64" in info


def test_the_installed_selftest_passes(unpacked: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"HOME": str(tmp_path), "KEIKO_HOME": str(tmp_path / "keiko")}
    started = time.monotonic()
    offline = _offline()  # the first start needs no network
    done = _run(*offline, unpacked / "opt/keiko/keiko", "--selftest", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("Self-test passed")
    print(
        done.stdout, f"({time.monotonic() - started:.1f} s, {'offline' if offline else 'online'})"
    )


def test_the_desktop_entry_is_valid(unpacked: Path) -> None:
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate is not installed (desktop-file-utils)")
    done = _run(validate, unpacked / "usr/share/applications/keiko-desktop.desktop")
    assert done.returncode == 0, done.stdout + done.stderr


def _dpkg(root: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return _run(
        "dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
        "--force-not-root", "--log=/dev/null", *args,
    )  # fmt: skip


def test_install_upgrade_and_remove_in_a_throwaway_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for folder in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
        (root / folder).mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text("")
    installed = _dpkg(root, "-i", _deb())
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (root / "opt/keiko/keiko").is_file()
    data = root / "home/person/.local/share/keiko/keiko.sqlite3"  # the user's own data
    data.parent.mkdir(parents=True)
    data.write_bytes(b"chats")
    again = _dpkg(root, "-i", _deb())  # an upgrade (the same version again)
    assert again.returncode == 0, again.stdout + again.stderr
    assert data.read_bytes() == b"chats"
    removed = _dpkg(root, "--purge", "keiko-desktop")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert data.read_bytes() == b"chats"  # kept
    caches = {"icon-theme.cache", "mimeinfo.cache"}  # the system's, rebuilt by postrm
    left = list((root / "opt").rglob("*")) + [
        p
        for p in (root / "usr").rglob("*")
        if (p.is_file() or p.is_symlink()) and p.name not in caches
    ]
    assert left == [], left[:10]


def test_the_bundled_app_opens_its_window(unpacked: Path, tmp_path: Path) -> None:
    if missing_tools():
        pytest.skip(f"missing X tools: {missing_tools()}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"HOME": str(tmp_path), "KEIKO_HOME": str(tmp_path / "keiko")}
    with XServer() as x:
        env |= x.env
        env.pop("WAYLAND_DISPLAY", None)
        env.pop("QT_QPA_PLATFORM", None)
        started = time.monotonic()
        proc = subprocess.Popen(
            [*_offline(), str(unpacked / "opt/keiko/keiko")], env=env, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            x.wait_for_window("^Keiko$", timeout=60)
            shown = time.monotonic() - started
            time.sleep(3)  # the model loads; the status bar says so
            SHOTS.mkdir(parents=True, exist_ok=True)
            x.screenshot(SHOTS / "01-window-from-the-deb.png")
            assert proc.poll() is None
            log = (tmp_path / "keiko" / "data" / "logs" / "keiko.log").read_text()
            assert "first start: the welcome is shown" in log
            print(f"window shown {shown:.2f} s after start")
        finally:
            stop(proc, grace=20)
