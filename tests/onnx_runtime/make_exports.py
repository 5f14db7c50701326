"""Exports for the torch-free suite, made where NeMo is installed (the ``tests`` nox session's environment).

    python tests/onnx_runtime/make_exports.py OUT_DIR RECORDING

For a tiny random 4- and an 8-speaker model: ``OUT_DIR/{4spk,8spk}``, an ``audar
export-onnx`` directory each, holding beside it NeMo's own offline streaming forward
over RECORDING (the suite uses the shipped example) at every preset the suite checks (``nemo-PRESET.npy``).
"""

from __future__ import annotations

import sys
from pathlib import Path

PRESETS = ("card", "nv-1.04s")


def main(directory: Path, recording: Path) -> None:
    # imported here: the torch-free suite imports PRESETS from this module
    import numpy as np
    import torch

    from audar_plugins.audio import load_audio
    from audar_plugins.backends.sortformer import SortformerBackend
    from audar_plugins.backends.sortformer.architecture import build_random_model
    from audar_plugins.backends.sortformer_onnx.export import export_onnx

    audio = torch.from_numpy(load_audio(recording))
    for speakers, seed in ((4, 0), (8, 1)):
        checkpoint = directory / f"tiny-{speakers}spk.nemo"
        build_random_model(speakers, "tiny", seed=seed, save_to=checkpoint)
        export = export_onnx(checkpoint, directory / f"{speakers}spk")
        nemo = SortformerBackend(checkpoint)
        for preset in PRESETS:
            expected = nemo._shared.reference_forward(audio, nemo.streaming_config(preset)).numpy()
            np.save(export / f"nemo-{preset}.npy", expected)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
