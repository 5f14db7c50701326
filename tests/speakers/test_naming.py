"""Known speakers: names on real voices (LibriSpeech readers), offline and live, for several backends.

Each reader's first utterance is the reference clip; the conversations hold the others.
"""

from __future__ import annotations

import numpy as np
import pytest

from audar_plugins import diarize
from audar_plugins.audio import load_audio
from audar_plugins.errors import InvalidOptionError, VoiceprintError
from audar_plugins.speakers import NamingBackend, VoiceEncoder, Voiceprint, enroll, known_voiceprints

from ..conftest import librispeech_clip, librispeech_conversation

READERS = ("1688", "1998", "2033")  # 2033 is not enrolled; 2609 is enrolled and absent
NAMES = {"1688": "alice", "1998": "bob", "2609": "carol"}


@pytest.fixture(scope="module")
def encoder(embedded):
    return VoiceEncoder(embedded.models)


@pytest.fixture(scope="module")
def voiceprints(data, encoder):
    return [enroll(name, librispeech_clip(data, reader), encoder) for reader, name in NAMES.items()]


@pytest.fixture(scope="module")
def conversation(data):
    return librispeech_conversation(data, READERS, seed=4, uri="known", first=1)


def _grid(annotation, label, frames):
    active = np.zeros(frames, dtype=bool)
    for segment in annotation.label_timeline(label, copy=False):
        active[int(round(segment.start * 100)) : int(round(segment.end * 100))] = True
    return active


def _naming_scores(reference, hypothesis, duration):
    """Right-name share of the enrolled present readers' speech; unnamed share of the unenrolled reader's
    speech alone; seconds of the absent reader's name."""
    frames = int(duration * 100) + 1
    named = np.zeros(frames, dtype=bool)
    for name in NAMES.values():
        named |= _grid(hypothesis, name, frames)
    right = sum((_grid(reference, r, frames) & _grid(hypothesis, NAMES[r], frames)).sum() for r in ("1688", "1998"))
    total = sum(_grid(reference, r, frames).sum() for r in ("1688", "1998"))
    others = _grid(reference, "1688", frames) | _grid(reference, "1998", frames)
    alone = _grid(reference, "2033", frames) & ~others
    return right / total, (alone & ~named).sum() / alone.sum(), _grid(hypothesis, "carol", frames).sum() / 100


def test_the_enrolled_readers_are_named_and_the_others_are_not(conversation, embedded, voiceprints):
    waveform, reference = conversation
    plain = diarize(waveform, embedded)
    named = diarize(waveform, embedded, known_speakers=voiceprints)
    # each speaker takes the name of the reader the diarization's best mapping gives it, if enrolled
    from pyannote.metrics.diarization import DiarizationErrorRate

    mapping = DiarizationErrorRate().optimal_mapping(reference, plain.annotation)
    expected = [NAMES.get(mapping.get(label, ""), label) for label in plain.activity.labels]
    assert list(named.activity.labels) == expected
    right, unnamed, absent = _naming_scores(reference, named.annotation, waveform.size / 16_000)
    assert right >= 0.95 and unnamed >= 0.95 and absent == 0.0, (right, unnamed, absent)
    # names only: the same frames, the same columns, the labels of unnamed speakers kept
    np.testing.assert_array_equal(named.activity.probabilities, plain.activity.probabilities)
    by_speaker = {match.speaker: match for match in named.speakers}
    assert [by_speaker[label].label for label in plain.activity.labels] == list(named.activity.labels)
    assert sorted(m.name for m in named.speakers if m.name) == ["alice", "bob"]
    for match in named.speakers:
        assert match.score is not None and (match.score >= 0.5) == (match.name is not None)


def test_clips_given_by_name_are_enrolled_on_the_spot(conversation, embedded, data):
    waveform, _ = conversation
    known = {name: str(librispeech_clip(data, reader)) for reader, name in NAMES.items()}
    result = diarize(waveform, embedded, known_speakers=known)
    assert {"alice", "bob"} <= set(result.annotation.labels()) and "carol" not in result.annotation.labels()


def test_a_backend_that_knows_nothing_of_voices_gets_names_too(data, voiceprints):
    """The fake backend alternates two speakers every 2 s: audio laid out the same way is named by voice."""
    from audar_plugins.backends.fake import FakeBackend

    alice = np.concatenate([load_audio(f) for f in sorted((data / "librispeech/1688").glob("*.flac"))[1:3]])
    bob = np.concatenate([load_audio(f) for f in sorted((data / "librispeech/1998").glob("*.flac"))[1:3]])
    turns = [(alice if k % 2 == 0 else bob)[(k // 2) * 32_000 : (k // 2) * 32_000 + 32_000] for k in range(10)]
    result = diarize(np.concatenate(turns), FakeBackend(num_speakers=2), known_speakers=voiceprints)
    assert [m.name for m in result.speakers] == ["alice", "bob"], result.speakers


def test_a_third_party_backend_from_the_entry_points_gets_names(data, voiceprints):
    """``example-constant`` (tests/plugin_example) gives one speaker wherever there is sound."""
    utterance = sorted((data / "librispeech/1998").glob("*.flac"))[2]
    result = diarize(utterance, "example-constant", known_speakers=voiceprints)
    assert result.annotation.labels() == ["bob"] and result.backend == "example-constant"


@pytest.mark.parametrize("backend_fixture", ["sortformer", "sortformer_onnx"])
def test_sortformer_speakers_are_relabelled_and_nothing_else(request, backend_fixture, conversation, voiceprints):
    """A random tiny model's speakers mean nothing, but naming must leave its frames alone, offline
    and live, and name a speaker only when its voice passes the rule."""
    backend = request.getfixturevalue(backend_fixture)
    waveform = conversation[0][: 16_000 * 20]
    plain = diarize(waveform, backend)
    named = diarize(waveform, backend, known_speakers=voiceprints)
    np.testing.assert_array_equal(named.activity.probabilities, plain.activity.probabilities)
    for match, label in zip(named.speakers, named.activity.labels):
        assert label == (match.name or match.speaker)
        assert match.name is None or match.score >= 0.5
    raw, live = backend.open_session(), NamingBackend(backend, voiceprints).open_session()
    for start in range(0, waveform.size, 12_000):
        a, b = raw.push(waveform[start : start + 12_000]), live.push(waveform[start : start + 12_000])
        assert a.labels == b.labels
        np.testing.assert_array_equal(a.probabilities, b.probabilities)
    np.testing.assert_array_equal(raw.flush().probabilities, live.flush().probabilities)


def test_live_names_come_once_and_stay_through_a_snapshot(conversation, embedded, voiceprints):
    waveform, reference = conversation
    backend = NamingBackend(embedded, voiceprints)

    def run(restore_at: int | None):
        session, rng, position, blocks, names = backend.open_session(), np.random.default_rng(1), 0, [], []
        while position < waveform.size:
            size = int(rng.integers(1, 20_000))
            if restore_at is not None and position <= restore_at < position + size:
                session = backend.restore_session(session.snapshot())
            blocks.append(session.push(waveform[position : position + size]))
            names.append(dict(session.names))
            position += size
        return blocks + [session.flush()], names + [dict(session.names)], session

    blocks, names, session = run(None)
    resumed, resumed_names, _ = run(waveform.size // 2)
    assert len(blocks) == len(resumed) and names == resumed_names
    for a, b in zip(blocks, resumed):
        assert a.labels == b.labels
        np.testing.assert_array_equal(a.probabilities, b.probabilities)
    # a name once given is never taken back or changed
    for before, after in zip(names, names[1:]):
        assert before.items() <= after.items()
    assert set(session.names.values()) == {"alice", "bob"}
    # the live names are on the right voices
    from audar_plugins.activity import SpeakerActivity

    whole = session.named(SpeakerActivity.concatenate(blocks))
    right, unnamed, absent = _naming_scores(reference, whole.to_annotation(embedded.binarization),
                                            waveform.size / 16_000)
    assert right >= 0.9 and unnamed >= 0.95 and absent == 0.0, (right, unnamed, absent)


def test_voiceprints_of_another_encoder_are_refused(conversation, embedded, voiceprints):
    other = Voiceprint("dave", voiceprints[0].embedding, "someone-elses-encoder@123")
    with pytest.raises(VoiceprintError, match="made with someone-elses-encoder@123"):
        diarize(conversation[0][:16_000 * 5], embedded, known_speakers=[other])
    short = Voiceprint("erin", voiceprints[0].embedding[:100], voiceprints[0].encoder)
    with pytest.raises(VoiceprintError, match="has 100 values, not the encoder's 192"):
        diarize(conversation[0][:16_000 * 5], embedded, known_speakers=[short])


def test_names_never_collide_with_the_labels_of_unnamed_speakers():
    """OpenAI's letters and pyannote's SPEAKER_NN skip the names known speakers already hold."""
    from pyannote.core import Annotation, Segment

    from audar_plugins.activity import SpeakerActivity
    from audar_plugins.adapters.labels import pyannote_names
    from audar_plugins.formats.transcript import next_letter

    assert next_letter([], {"A"}) == "B" and next_letter(["B"], {"A", "C"}) == "D"
    activity = SpeakerActivity(np.ones((10, 3)), 0.1, labels=("SPEAKER_00", "speaker_1", "speaker_2"))
    annotation = Annotation()
    for index, label in enumerate(activity.labels):
        annotation[Segment(index, index + 1)] = label
    assert pyannote_names(activity, annotation, {"SPEAKER_00"}) == {
        "SPEAKER_00": "SPEAKER_00", "speaker_1": "SPEAKER_01", "speaker_2": "SPEAKER_02"}


@pytest.mark.parametrize(("known", "says"), [
    ([("alice", 0), ("alice", 1)], "repeated: alice"),
    ([("", 0)], "non-empty"),
    ([("speaker_1", 0)], "unnamed speakers"),
    ([("Jane Doe", 0)], "write it as 'Jane_Doe'"),
    ([(f"p{k}", 0) for k in range(33)], "at most 32"),
])
def test_bad_names_are_refused(voiceprints, known, says):
    given = [Voiceprint(name, voiceprints[index].embedding, voiceprints[index].encoder) for name, index in known]
    with pytest.raises(InvalidOptionError, match=says):
        known_voiceprints(given)


def test_known_speakers_of_a_wrong_type_are_refused():
    with pytest.raises(InvalidOptionError, match="known_speakers"):
        known_voiceprints(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match="Voiceprint objects"):
        known_voiceprints(["alice.wav"])  # type: ignore[list-item]
    with pytest.raises(InvalidOptionError, match="empty path"):
        known_voiceprints("")


def test_transcribe_gives_words_the_names(conversation, embedded, voiceprints):
    """The named transcript is the un-named one with its speakers renamed, word for word."""
    import json

    from audar_plugins import FakeRecognizer, transcribe
    from audar_plugins.formats import render

    clip = conversation[0][: 16_000 * 40]
    plain = transcribe(clip, FakeRecognizer(), embedded, turns=None)
    named = transcribe(clip, FakeRecognizer(), embedded, known_speakers=voiceprints, turns=None)
    names = {match.speaker: match.label for match in named.speaker_matches}
    assert {"alice", "bob"} <= set(names.values())
    assert [names.get(w.speaker, w.speaker) for w in plain.words] == [w.speaker for w in named.words]
    assert sum(w.speaker in ("alice", "bob") for w in named.words) > 20
    segments = json.loads(render(named, "diarized_json"))["segments"]
    assert {"alice", "bob"} <= {segment["speaker"] for segment in segments}
    assert {entry["name"] for entry in json.loads(render(named, "json"))["speakers"]} >= {"alice", "bob"}
