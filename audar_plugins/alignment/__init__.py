"""Words from any ASR meet speaker activity: speaker-attributed words, turns and transcripts."""

from .coverage import SpeakerCoverage
from .settled import TurnSettler
from .streaming import StreamingAligner
from .transcript import Transcript, build_transcript
from .turns import Turn, TurnOptions, group_turns, smooth_speakers
from .words import AttributedWord, Attribution, Word, attribute_spans, attribute_words, coverage_of

__all__ = [
    "AttributedWord",
    "Attribution",
    "SpeakerCoverage",
    "StreamingAligner",
    "Transcript",
    "Turn",
    "TurnOptions",
    "TurnSettler",
    "Word",
    "attribute_spans",
    "attribute_words",
    "build_transcript",
    "coverage_of",
    "group_turns",
    "smooth_speakers",
]
