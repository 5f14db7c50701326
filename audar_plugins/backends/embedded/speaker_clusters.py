"""Local speakers of all windows -> the recording's speakers: pyannote 3.1's clustering.

Each (window, local speaker) with an embedding is a point. Centroid-linkage agglomerative
clustering of the unit-normalised points is cut at ``threshold`` (a Euclidean distance
between unit vectors); clusters smaller than ``min_cluster_size`` (at most a tenth of the
points) are not speakers of their own and join the nearest large one. A speaker count
asked for (``num_speakers``, or bounds the cut falls outside) is met by cutting the
dendrogram elsewhere.

Long recordings cluster at most ``max_points`` evenly spaced points (memory stays bounded).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["cluster", "normalize"]


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def cluster(embeddings: np.ndarray, threshold: float, min_speakers: int = 1, max_speakers: float = math.inf,
            max_cluster_size: int = 12, max_points: int = 4000) -> np.ndarray:
    """Centroids ``(speakers, dimension)`` of the speakers among ``embeddings`` ``(points, dimension)``: the
    un-normalised means of their members; see the module docstring."""
    from scipy.cluster.hierarchy import fcluster, linkage

    count = embeddings.shape[0]
    if count == 0:
        return np.zeros((0, embeddings.shape[1]), dtype=np.float32)
    if count > max_points:
        embeddings = embeddings[np.linspace(0, count - 1, max_points).round().astype(int)]
        count = max_points
    low = max(1, min(count, min_speakers))
    high = max(1, min(count, max_speakers))
    if high < 2 or count == 1:
        return embeddings.mean(axis=0, keepdims=True)
    points = normalize(embeddings.astype(np.float64))
    tree = linkage(points, method="centroid", metric="euclidean")
    labels = fcluster(tree, threshold, criterion="distance") - 1
    min_size = min(max_cluster_size, max(1, round(0.1 * count)))
    large = _large(labels, min_size)
    wanted = low if large.size < low else high if large.size > high else None
    if wanted is not None:
        labels = _cut_for(tree, wanted, min_size, count)
        large = _large(labels, min_size)
    if large.size == 0:
        return embeddings.mean(axis=0, keepdims=True)
    # small clusters join the nearest large one, judged by their centroids
    large_centroids = normalize(np.stack([points[labels == k].mean(axis=0) for k in large]))
    merged = labels.copy()
    for small in np.setdiff1d(np.unique(labels), large):
        centroid = normalize(points[labels == small].mean(axis=0))
        merged[labels == small] = large[int(np.argmax(large_centroids @ centroid))]
    centroids = np.stack([embeddings[merged == k].mean(axis=0) for k in large])
    return centroids.astype(np.float32)


def _large(labels: np.ndarray, min_size: int) -> np.ndarray:
    clusters, sizes = np.unique(labels, return_counts=True)
    return clusters[sizes >= min_size]


def _cut_for(tree: np.ndarray, wanted: int, min_size: int, count: int) -> np.ndarray:
    """Labels after the number of merges that leaves closest to ``wanted`` large clusters."""
    from scipy.cluster.hierarchy import fcluster

    by_order = tree.copy()
    by_order[:, 2] = np.arange(count - 1)  # cut by how many merges were made, not by height
    best, best_labels = math.inf, np.zeros(count, dtype=int)
    for merges in range(count - 1):
        if tree[merges, 3] < min_size and merges < count - 2:
            continue
        labels = fcluster(by_order, merges, criterion="distance") - 1
        miss = abs(_large(labels, min_size).size - wanted)
        if miss < best:
            best, best_labels = miss, labels
            if miss == 0:
                break
    return best_labels
