"""``audar batch``: a corpus through any backend, on this machine or on Ray, resumable.

:func:`run_batch` drives it: :mod:`.inputs` finds the files and names their outputs, :mod:`.job`
says what is done to each and fingerprints it, :mod:`.worker` does it (models loaded once per
worker), :mod:`.local` and :mod:`.ray_runner` run workers, :mod:`.outputs` writes results
atomically with a record per file, and :mod:`.scoring` scores a corpus against references.
"""

from .inputs import BatchInputs, BatchItem
from .job import AsrSettings, BatchJob
from .run import BatchSummary, run_batch, threads_per_worker
from .scoring import CorpusScore, check_scoring, load_references, load_uems, score_batch

__all__ = [
    "AsrSettings",
    "BatchInputs",
    "BatchItem",
    "BatchJob",
    "BatchSummary",
    "CorpusScore",
    "check_scoring",
    "load_references",
    "load_uems",
    "run_batch",
    "score_batch",
    "threads_per_worker",
]
