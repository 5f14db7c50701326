"""Speaker clustering of window embeddings, with speaker-count bounds.

1. Average-linkage agglomerative clustering on cosine distance, cut at ``threshold``.
2. Clusters with fewer than ``min_size`` members are not speakers of their own
   (a cough, a mixed window): their members join the nearest large cluster.
3. The number of large clusters is brought within the bounds, by merging the
   closest centroids or by cutting the dendrogram lower.
4. A few rounds of nearest-centroid reassignment polish the partition.

Long inputs are clustered on ``max_points`` evenly spaced members (each
standing for its neighbours), then every member is assigned in step 4, so
memory stays bounded however long the recording.
"""

from __future__ import annotations

import math

import numpy as np

from ..embedded.speaker_clusters import normalize

__all__ = ["cluster_embeddings", "normalize"]


def cluster_embeddings(
    embeddings: np.ndarray,
    threshold: float,
    min_clusters: int = 1,
    max_clusters: float = math.inf,
    min_size: int = 1,
    max_points: int = 1500,
    refinements: int = 3,
) -> np.ndarray:
    """Cluster labels ``0..k-1`` for each row of ``embeddings``, numbered by first appearance.

    Parameters
    ----------
    threshold
        Cosine distance at which the dendrogram is cut.
    min_clusters, max_clusters
        Bounds on the number of clusters; honoured whenever there are enough points.
    min_size
        Members a cluster needs to stand as a speaker of its own.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    count = embeddings.shape[0]
    if count < 2:
        return np.zeros(count, dtype=int)
    points = normalize(embeddings.astype(np.float32))
    sample = np.linspace(0, count - 1, min(count, max_points)).round().astype(int)
    reduced = points[sample]
    stands_for = count / sample.size  # members each sampled point represents

    tree = linkage(reduced, method="average", metric="cosine")
    low = int(min(min_clusters, count))
    high = int(min(max_clusters, count))
    labels = fcluster(tree, t=threshold, criterion="distance")
    centroids = _large_centroids(reduced, labels, min_size / stands_for)
    if centroids.shape[0] > high:
        centroids = _merge_closest(centroids, high)
    elif centroids.shape[0] < low:
        labels = fcluster(tree, t=low, criterion="maxclust")
        centroids = _large_centroids(reduced, labels, 0)

    for _ in range(refinements):
        assignment = np.argmax(points @ centroids.T, axis=1)
        used = np.unique(assignment)
        if used.size < centroids.shape[0] and used.size < low:
            break
        centroids = normalize(np.stack([points[assignment == k].mean(axis=0) for k in used]))
    return _by_first_appearance(np.argmax(points @ centroids.T, axis=1))


def _large_centroids(points: np.ndarray, labels: np.ndarray, min_size: float) -> np.ndarray:
    """Normalised centroids of the clusters with at least ``min_size`` members (the largest if none)."""
    clusters, members = np.unique(labels, return_counts=True)
    keep = clusters[members >= min_size] if (members >= min_size).any() else clusters[[np.argmax(members)]]
    return normalize(np.stack([points[labels == c].sum(axis=0) for c in keep]))


def _merge_closest(centroids: np.ndarray, target: int) -> np.ndarray:
    """Average-link the centroids down to ``target`` groups."""
    from scipy.cluster.hierarchy import fcluster, linkage

    groups = fcluster(linkage(centroids, method="average", metric="cosine"), t=target, criterion="maxclust")
    return normalize(np.stack([centroids[groups == g].mean(axis=0) for g in np.unique(groups)]))


def _by_first_appearance(labels: np.ndarray) -> np.ndarray:
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=int)
    rank[np.argsort(first)] = np.arange(first.size)
    return rank[inverse]
