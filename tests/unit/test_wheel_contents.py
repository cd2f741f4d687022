"""The built wheel carries every resource: each module, py.typed, the model catalog and every icon
the UI refers to, and the package loads its resources from the wheel with ``importlib.resources``.

The wheel is built once per module with ``pip wheel --no-deps --no-build-isolation --no-index``
(the venv's setuptools, no network) from a copy of the sources, so the shared work tree gets no
``build/`` or ``*.egg-info``. Select these tests with ``-m wheel``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "keiko_desktop"
ICON_DIR = PACKAGE / "resources" / "icons"
UI_DIR = PACKAGE / "ui"

# Calls whose first argument, a string literal, names an icon (resources/icons/<name>.svg).
ICON_CALLS = {"icon", "SvgIconEngine", "_action"}
# Module-level names whose string values (or first items of their tuples) are icon names.
ICON_CONSTANTS = {"APP_ICON", "PAGES"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    setuptools = importlib.metadata.version("setuptools")
    if int(setuptools.split(".")[0]) < 77:
        pytest.fail(f"setuptools {setuptools} is too old to build the wheel; run `make setup`.")
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__"))
    dist = work / "dist"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    pip_wheel = ["pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
    done = subprocess.run(
        [sys.executable, "-m", *pip_wheel, "-w", str(dist), str(src)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}\n{done.stderr}"
    [built] = dist.glob("keiko_desktop-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def _names(archive: zipfile.ZipFile) -> set[str]:
    return set(archive.namelist())


def _referenced_icons() -> set[str]:
    """Icon names the UI code names as literals, found by reading (not importing) it."""
    names: set[str] = set()
    for path in UI_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                first = node.args[0]
                if (
                    called in ICON_CALLS
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                ):
                    names.add(first.value)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ICON_CONSTANTS for t in node.targets
            ):
                value = node.value
                items = value.elts if isinstance(value, ast.Tuple) else [value]
                for item in items:
                    if isinstance(item, ast.Tuple) and item.elts:
                        item = item.elts[0]
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        names.add(item.value)
    return names


def test_every_module_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    modules = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")}
    assert "keiko_desktop/ui/icons.py" in modules
    assert modules - _names(wheel) == set()


def test_py_typed_the_catalog_and_the_selftest_clip_are_in_the_wheel(
    wheel: zipfile.ZipFile,
) -> None:
    names = _names(wheel)
    assert "keiko_desktop/py.typed" in names
    for data in ("llm/catalog.toml", "resources/selftest.wav"):
        assert f"keiko_desktop/{data}" in names
        assert wheel.read(f"keiko_desktop/{data}") == (PACKAGE / data).read_bytes()


def test_every_icon_the_ui_names_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    referenced = _referenced_icons()
    # The scan must find the icons we know about, or it found nothing and proves nothing.
    assert {"keiko", "chat", "agents", "tasks", "settings", "send", "copy", "delete"} <= referenced
    shipped = {p.stem for p in ICON_DIR.glob("*.svg")}
    assert referenced - shipped == set(), "the UI names icons that resources/icons lacks"
    in_wheel = {f"keiko_desktop/resources/icons/{name}.svg" for name in referenced}
    assert in_wheel - _names(wheel) == set()


def test_every_icon_file_and_its_notice_are_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    files = {p.relative_to(ROOT).as_posix() for p in ICON_DIR.iterdir() if p.is_file()}
    assert "keiko_desktop/resources/icons/NOTICE.md" in files
    assert files - _names(wheel) == set()


def test_the_package_loads_its_resources_from_the_wheel(wheel: zipfile.ZipFile) -> None:
    """Imported straight from the .whl (zipimport, no site-packages): no path outside the
    package is needed to find the catalog or an icon."""
    assert wheel.filename is not None
    script = (
        "import keiko_desktop, importlib.resources as r\n"
        "from keiko_desktop.llm.catalog import load_catalog\n"
        f"assert keiko_desktop.__file__.startswith({wheel.filename!r}), keiko_desktop.__file__\n"
        "assert load_catalog()\n"
        "svg = r.files('keiko_desktop').joinpath('resources', 'icons', 'keiko.svg').read_text()\n"
        "assert svg.lstrip().startswith('<svg')\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": wheel.filename}
    # -S: no site-packages (so not the editable install); -P and cwd: not the work tree either.
    done = subprocess.run(
        [sys.executable, "-S", "-P", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=Path(wheel.filename).parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
