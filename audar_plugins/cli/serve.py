"""``audar serve``: the OpenAI-compatible gateway on uvicorn (``pip install 'audar-plugins[server]'``)."""

from __future__ import annotations

import argparse

from ..backends.precision import PRECISIONS

__all__ = ["add_parser", "run", "settings_from_args"]


def add_parser(subcommands) -> None:
    """Add ``serve`` to the ``audar`` subcommands; every flag names its environment variable."""
    from ..server.settings import Settings

    defaults = Settings()
    parser = subcommands.add_parser(
        "serve",
        help="serve diarization and transcription over OpenAI-compatible HTTP and WebSocket",
        description="Serve POST /v1/audio/transcriptions (OpenAI's form, plus diarize=true), "
        "POST /v1/audio/diarizations, GET /v1/models, GET /health and the /v1/realtime WebSocket. "
        "Models load once at startup. Every flag has an environment variable (in brackets); "
        "a flag wins over its variable.",
    )
    _add_network_options(parser, defaults)
    _add_model_options(parser, defaults)
    _add_limit_options(parser, defaults)
    parser.set_defaults(run=run)


def settings_from_args(args: argparse.Namespace, environ=None):
    """The :class:`~audar_plugins.server.settings.Settings` of ``args``, then the environment."""
    from ..server.settings import ENVIRONMENT, MB, Settings

    flags = {name: getattr(args, name, None) for name in ENVIRONMENT}
    flags.update({name: getattr(args, name) for name in ("model", "device", "preset", "precision")})
    if args.max_upload_mb is not None:
        flags["max_upload_bytes"] = round(args.max_upload_mb * MB)
    return Settings.from_sources(flags, environ)


def run(args: argparse.Namespace) -> int:
    """Log to standard error and serve until interrupted."""
    import logging

    from ..server import serve

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    serve(settings_from_args(args))
    return 0


def _add_network_options(parser: argparse.ArgumentParser, defaults) -> None:
    network = parser.add_argument_group("network")
    network.add_argument("--host",
                         help=f"address to listen on (default {defaults.host}, this machine only) [AUDAR_HOST]")
    network.add_argument("--port", type=int, help=f"port (default {defaults.port}) [AUDAR_PORT]")
    network.add_argument("--no-web-page", dest="web_page", action="store_const", const=False,
                         help="do not serve the web page at / (live and file modes) [AUDAR_WEB_PAGE=false]")
    network.add_argument("--api-key", metavar="KEY",
                         help="require 'Authorization: Bearer KEY' on /v1 routes [AUDAR_API_KEY; preferred: a "
                         "flag is visible to other users in the process list]")


def _add_model_options(parser: argparse.ArgumentParser, defaults) -> None:
    models = parser.add_argument_group("models")
    models.add_argument("--backend", help=f"diarization backend (default {defaults.backend}) [AUDAR_BACKEND]")
    models.add_argument("--model", metavar="PATH_OR_NAME", help="backend checkpoint, e.g. a .nemo path [AUDAR_MODEL]")
    models.add_argument("--device", metavar="DEVICE", help="cpu, cuda, ... (backends with models) [AUDAR_DEVICE]")
    models.add_argument("--preset", metavar="NAME",
                        help="Sortformer latency preset, or accurate/fast for embedded [AUDAR_PRESET]")
    models.add_argument("--precision", choices=PRECISIONS,
                        help="Sortformer arithmetic on the CPU (default fp32) [AUDAR_PRECISION]")
    models.add_argument("--params", metavar="FILE",
                        help="post-processing found by 'audar tune', for /v1/audio/diarizations [AUDAR_PARAMS]")
    models.add_argument("--asr", dest="asr_model", metavar="MODEL_OR_DIR",
                        help="faster-whisper model (CTranslate2 directory or name); without it only diarization "
                        "is served [AUDAR_ASR]")
    models.add_argument("--compute-type", help=f"CTranslate2 compute type (default {defaults.compute_type}) "
                        "[AUDAR_COMPUTE_TYPE]")
    models.add_argument("--voices", metavar="DIR",
                        help="folder of voiceprints (audar enroll): known speakers named in every request and "
                             "realtime session [AUDAR_VOICES]")


def _add_limit_options(parser: argparse.ArgumentParser, defaults) -> None:
    from ..server.settings import MB

    limits = parser.add_argument_group("limits")
    limits.add_argument("--max-upload-mb", type=float, metavar="MB",
                        help=f"largest request body (default {defaults.max_upload_bytes / MB:g}) [AUDAR_MAX_UPLOAD_MB]")
    limits.add_argument("--max-audio-seconds", type=float, metavar="S",
                        help=f"longest audio (default {defaults.max_audio_seconds:g}) [AUDAR_MAX_AUDIO_SECONDS]")
    limits.add_argument("--max-realtime-sessions", type=int, metavar="N",
                        help=f"concurrent WebSocket sessions (default {defaults.max_realtime_sessions}) "
                        "[AUDAR_MAX_REALTIME_SESSIONS]")
    limits.add_argument("--realtime-idle-seconds", type=float, metavar="S",
                        help=f"close a silent WebSocket session after S (default {defaults.realtime_idle_seconds:g}) "
                        "[AUDAR_REALTIME_IDLE_SECONDS]")
    limits.add_argument("--max-message-bytes", type=int, metavar="N",
                        help=f"largest WebSocket message (default {defaults.max_message_bytes}) "
                        "[AUDAR_MAX_MESSAGE_BYTES]")
    limits.add_argument("--realtime-backlog-seconds", type=float, metavar="S",
                        help=f"audio that may wait to be diarized per WebSocket session; appends beyond it are "
                        f"refused (default {defaults.realtime_backlog_seconds:g}) [AUDAR_REALTIME_BACKLOG_SECONDS]")
    limits.add_argument("--asr-time-factor", type=float, metavar="F",
                        help=f"seconds of decoding allowed per second of audio, plus 30 (default "
                        f"{defaults.asr_time_factor:g}) [AUDAR_ASR_TIME_FACTOR]")
    limits.add_argument("--workers", type=int, metavar="N",
                        help="threads for CPU work; more requests wait in a queue (default: the CPU count) "
                        "[AUDAR_WORKERS]")
