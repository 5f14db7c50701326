"""Clean pieces: where they are cut, and the mean embedding that stands for a local speaker."""

from __future__ import annotations

import numpy as np
import pytest

from audar_plugins.backends.embedded.clean_pieces import CleanPieces, cut_pieces


class _Encoder:
    """Hands out given embeddings, one per piece, in order."""

    dimension = 3

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors

    def embed_all(self, features) -> np.ndarray:
        assert len(list(features)) == len(self.vectors)
        return self.vectors


def test_pieces_tile_each_clean_run_and_end_at_its_end():
    clean = np.zeros(40, dtype=bool)
    clean[2:13] = True  # 11 frames: pieces of 4 every 4, and one ending at the run's end
    clean[20:22] = True  # 2 frames: too short
    clean[30:33] = True  # 3 frames: one piece
    assert cut_pieces(clean, length=4, hop=4, shortest=3) == [(2, 6), (6, 10), (9, 13), (30, 33)]


@pytest.fixture
def pieces() -> CleanPieces:
    vectors = np.array([[2.0, 0, 0], [0, 1, 0], [0, 0, 3]], dtype=np.float32)
    waveform = np.zeros(16_000 * 2, dtype=np.float32)
    return CleanPieces(waveform, [(0, 10), (10, 20), (30, 40)], 50, _Encoder(vectors))


def test_the_pieces_inside_a_speakers_frames_make_its_embedding(pieces):
    """Weighted by their frames inside; the embeddings were unit vectors before the mean."""
    mean = pieces.mean_inside(np.arange(0, 20))
    np.testing.assert_allclose(mean, np.array([1, 1, 0]) / np.sqrt(2), atol=1e-6)


def test_a_piece_mostly_outside_a_speakers_frames_is_left_out(pieces):
    """Frames 0-17 hold all of piece 0 and 7 of piece 1's 10 frames (under 80 %): piece 0 alone."""
    np.testing.assert_allclose(pieces.mean_inside(np.arange(0, 17)), [1, 0, 0], atol=1e-6)


def test_no_embedding_when_the_pieces_cover_too_little(pieces):
    """Frames 20-40: piece 2 covers 10 of 20, half: enough; frames 20-45 (10 of 25): not."""
    np.testing.assert_allclose(pieces.mean_inside(np.arange(20, 40)), [0, 0, 1], atol=1e-6)
    assert pieces.mean_inside(np.arange(20, 45)) is None
    assert pieces.mean_inside(np.arange(0, 0)) is None
