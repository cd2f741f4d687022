"""Per-model settings (``core.downloads.ModelOptions``) in ``config_dir/models.toml``.

One table per model, keyed by its registry name or its file path::

    [models."qwen2.5-1.5b-instruct"]
    context_length = 8192
    threads = 4

    [models."/home/me/models/mine.gguf"]
    chat_template = "{% for m in messages %}...{% endfor %}"

A model without a table (or with every value 0 / "") uses the general settings. Bounds:
``context_length`` 0 or 16..262144, ``threads`` 0..256, ``gpu_layers`` 0..999,
``chat_template`` at most 64 KiB and a Jinja template that compiles. The file is read bounded
(1 MiB), written atomically and owner-only; a bad value is a ``SettingsError`` naming the
model and the field.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import tomli_w

from keiko_desktop.core.downloads import ModelOptions
from keiko_desktop.core.errors import SettingsError
from keiko_desktop.core.private_files import private_dir, write_private_bytes
from keiko_desktop.core.toml_file import read_toml

MODELS_FILE = "models.toml"
MAX_FILE_BYTES = 1 << 20
MAX_MODELS = 512
MAX_KEY = 4096
MAX_TEMPLATE = 64 * 1024
CONTEXT_RANGE = (16, 262_144)
MAX_THREADS = 256
MAX_GPU_LAYERS = 999
_FIELDS = {f.name: f.type for f in fields(ModelOptions)}


def _check_template(template: str, where: str) -> None:
    if len(template.encode("utf-8")) > MAX_TEMPLATE:
        raise SettingsError(
            f"{where}: the chat template is longer than {MAX_TEMPLATE // 1024} KiB.",
            "Use the model's own template, or a shorter one.",
        )
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    try:  # the environment llama-cpp-python renders chat templates with
        ImmutableSandboxedEnvironment(
            loader=jinja2.BaseLoader(), extensions=["jinja2.ext.loopcontrols"]
        ).parse(template)
    except jinja2.TemplateSyntaxError as exc:
        raise SettingsError(
            f"{where}: the chat template is not a valid Jinja template "
            f"(line {exc.lineno}: {exc.message}).",
            "Fix the template, or leave it empty to use the model's own.",
        ) from None


def check_options(options: ModelOptions, model: str = "model") -> ModelOptions:
    """``options`` if every value is in bounds; else a ``SettingsError`` naming the field."""
    where = f"Model {model}"
    for name in ("context_length", "threads", "gpu_layers"):
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{where}: {name} must be a whole number, not {value!r}.")
    low, high = CONTEXT_RANGE
    if options.context_length and not low <= options.context_length <= high:
        raise SettingsError(
            f"{where}: context_length must be 0 (the general setting) or {low} to {high}, "
            f"not {options.context_length}."
        )
    if not 0 <= options.threads <= MAX_THREADS:
        raise SettingsError(f"{where}: threads must be 0 to {MAX_THREADS}, not {options.threads}.")
    if not 0 <= options.gpu_layers <= MAX_GPU_LAYERS:
        raise SettingsError(
            f"{where}: gpu_layers must be 0 to {MAX_GPU_LAYERS}, not {options.gpu_layers}."
        )
    if not isinstance(options.chat_template, str):
        raise SettingsError(f"{where}: chat_template must be text.")
    if options.chat_template:
        _check_template(options.chat_template, where)
    return options


def parse_model_options(data: dict[str, Any], source: str = MODELS_FILE) -> dict[str, ModelOptions]:
    table = data.get("models", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{source}: 'models' must be a table of models.")
    if len(table) > MAX_MODELS:
        raise SettingsError(f"{source} lists {len(table)} models; at most {MAX_MODELS}.")
    out: dict[str, ModelOptions] = {}
    for model, values in table.items():
        where = f"{source}, model {model[:80]!r}"
        if not model.strip() or len(model) > MAX_KEY:
            raise SettingsError(f"{where}: the model's name must be 1 to {MAX_KEY} characters.")
        if not isinstance(values, dict):
            raise SettingsError(f"{where} is not a table.")
        unknown = sorted(set(values) - set(_FIELDS))
        if unknown:
            raise SettingsError(f"{where} has unknown fields: {', '.join(unknown)}.")
        try:
            out[model] = check_options(ModelOptions(**values), model[:80])
        except TypeError as exc:
            raise SettingsError(f"{where}: {exc}.") from None
        except SettingsError as exc:
            raise SettingsError(f"{source}: {exc.message}", exc.hint) from None
    return out


def load_model_options(config_dir: Path) -> dict[str, ModelOptions]:
    """Every model's options; {} when there is no file."""
    path = config_dir / MODELS_FILE
    data = read_toml(path, MAX_FILE_BYTES)
    if data is None:
        return {}
    return parse_model_options(data, str(path))


def save_model_options(config_dir: Path, options: dict[str, ModelOptions]) -> None:
    """Write ``models.toml`` atomically, owner-only; models at their defaults are left out."""
    document: dict[str, Any] = {"models": {}}
    for model, opts in options.items():
        check_options(opts, model[:80])
        values = {k: v for k, v in asdict(opts).items() if v}
        if values:
            document["models"][model] = values
    path = config_dir / MODELS_FILE
    try:
        private_dir(config_dir)
        write_private_bytes(path, tomli_w.dumps(document, multiline_strings=True).encode())
    except OSError as exc:
        raise SettingsError(
            f"Cannot save {path}: {exc.strerror or exc}.",
            "Check that its folder is writable and the disk is not full.",
        ) from exc


class ModelOptionsStore:
    """``models.toml`` read once and kept; ``set`` writes it through (small, so inline)."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self._options = load_model_options(config_dir)

    def get(self, *keys: str) -> ModelOptions:
        """The options of the first of ``keys`` (name, then path) that has any."""
        for key in keys:
            if key in self._options:
                return self._options[key]
        return ModelOptions()

    def set(self, model: str, options: ModelOptions) -> None:
        if not model.strip() or len(model) > MAX_KEY:
            raise SettingsError(f"A model's name must be 1 to {MAX_KEY} characters.")
        check_options(options, model[:80])
        changed = dict(self._options)
        if options == ModelOptions():
            changed.pop(model, None)
        else:
            changed[model] = options
        save_model_options(self.config_dir, changed)
        self._options = changed
