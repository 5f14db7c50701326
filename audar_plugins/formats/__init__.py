"""Output formats: every serializer of results, one module per family.

:mod:`.diarization`  an Annotation as RTTM, the model card's JSON segments or JSON Lines;
                     ``safe_uri``; the RTTM and UEM readers
:mod:`.npz`          a SpeakerActivity's frame probabilities as ``.npz``, and back
:mod:`.transcript`   a Transcript as json, diarized_json, text or rttm; ``render`` picks by name
:mod:`.subtitles`    SRT and WebVTT from one list of cues
:mod:`.openai`       the bodies of the OpenAI-compatible HTTP routes, and their media types

The names below are the diarization writers (``to_json`` is an Annotation's JSON) plus each
family's entry points; a transcript's own ``to_json`` and ``to_rttm`` are in :mod:`.transcript`.
"""

from .diarization import (
    FORMATS,
    MAX_URI_LENGTH,
    read_rttm,
    read_uem,
    safe_uri,
    segments,
    to_json,
    to_json_line,
    to_rttm,
    write,
    write_json,
    write_rttm,
)
from .npz import read_npz, write_npz
from .openai import MEDIA_TYPES, diarization_body, transcription_body
from .subtitles import MAX_CUE_SECONDS, Cue, clock, cues, to_srt, to_vtt
from .transcript import TRANSCRIPT_FORMATS, render, speaker_letters, to_diarized_json, to_text

__all__ = [
    "FORMATS",
    "MAX_CUE_SECONDS",
    "MAX_URI_LENGTH",
    "MEDIA_TYPES",
    "TRANSCRIPT_FORMATS",
    "Cue",
    "clock",
    "cues",
    "diarization_body",
    "read_npz",
    "read_rttm",
    "read_uem",
    "render",
    "safe_uri",
    "segments",
    "speaker_letters",
    "to_diarized_json",
    "to_json",
    "to_json_line",
    "to_rttm",
    "to_srt",
    "to_text",
    "to_vtt",
    "transcription_body",
    "write",
    "write_json",
    "write_npz",
    "write_rttm",
]
