"""A realtime stream gives each item's words the speakers of the offline attribution, without real models."""

from __future__ import annotations

import numpy as np

from audar_plugins import FakeBackend, FakeRecognizer
from audar_plugins.alignment.turns import TurnOptions, group_turns
from audar_plugins.alignment.words import Word, attribute_words
from audar_plugins.server.realtime.stream import RealtimeStream

RATE = 16_000


def _offline_turns(item, activity) -> list[tuple]:
    recognition = FakeRecognizer().recognize(item.audio)
    words = [Word(w.text, w.start + item.start, w.end + item.start, w.probability)
             for segment in recognition.segments for w in segment.words]
    turns = group_turns(attribute_words(words, activity), TurnOptions())
    return [(turn.speaker or "unknown", turn.start, turn.end, turn.text.strip()) for turn in turns]


def _push(stream: RealtimeStream, audio: np.ndarray, piece: int = 3_000) -> None:
    for start in range(0, audio.size, piece):
        stream.push(audio[start : start + piece])


def test_an_item_committed_with_no_more_audio_gets_the_speakers_of_the_audio_so_far():
    """The last frames of the item are not final when it is committed: the provisional look fills them,
    and the stream goes on afterwards as if it had never been taken."""
    backend = FakeBackend(num_speakers=3, turn_duration=1.7)
    stream = RealtimeStream(backend)
    stream.turn_detection = None  # the client commits
    first = np.full(int(10.03 * RATE), 0.1, np.float32)
    _push(stream, first)
    item = stream.commit()["item"]
    assert stream._aligner.activity_end < item.end  # so the provisional frames are needed
    turns = stream.transcribe(item, FakeRecognizer(), None, diarize=True)
    assert turns == _offline_turns(item, backend.diarize(first)) and len({turn[0] for turn in turns}) == 3

    second = np.full(int(7.5 * RATE), 0.1, np.float32)
    _push(stream, second)
    events = stream.finish()[1]
    item = events[-1]["item"]
    whole = np.concatenate([first, second])
    assert stream.transcribe(item, FakeRecognizer(), None, diarize=True) == _offline_turns(item, backend.diarize(whole))


def test_items_transcribed_as_the_stream_goes_on_equal_the_offline_attribution_of_the_whole_stream():
    backend = FakeBackend(num_speakers=2, turn_duration=2.0, overlap=0.0)
    stream = RealtimeStream(backend)
    stream.turn_detection = None
    audio = np.full(int(40 * RATE), 0.1, np.float32)
    whole = backend.diarize(audio)
    for cut in range(0, audio.size, 8 * RATE):  # an item every 8 s, transcribed before the next audio
        _push(stream, audio[cut : cut + 8 * RATE])
        item = stream.commit()["item"]
        assert stream.transcribe(item, FakeRecognizer(), None, diarize=True) == _offline_turns(item, whole)
