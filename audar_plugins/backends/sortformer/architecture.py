"""The Streaming Sortformer v2 architecture as a NeMo config, at full or tiny size.

Used to build randomly initialised models: tiny ones for tests (about 30 k
parameters, exact in behaviour but meaningless in output) and full-size ones
(117.7 M parameters, the cost of the real checkpoint) for speed measurements.
The values are those of NeMo's ``streaming_sortformer_diarizer_4spk-v2.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from ..sortformer_core.presets import PRESETS

__all__ = ["SORTFORMER_TARGET", "build_random_model", "v2_config"]

SORTFORMER_TARGET = "nemo.collections.asr.models.sortformer_diar_models.SortformerEncLabelModel"

_SIZES: dict[str, dict[str, int]] = {
    "full": dict(fc=512, tf=192, conformer_layers=17, conformer_heads=8, subsampling_channels=256,
                 ff_expansion=4, transformer_layers=18, transformer_inner=768, transformer_heads=8),
    "tiny": dict(fc=32, tf=16, conformer_layers=1, conformer_heads=2, subsampling_channels=16,
                 ff_expansion=2, transformer_layers=1, transformer_inner=32, transformer_heads=2),
}


_DROPOUTS = {
    "sortformer_modules": ("dropout_rate",),
    "encoder": ("dropout", "dropout_pre_encoder", "dropout_att"),
    "transformer_encoder": ("attn_score_dropout", "attn_layer_dropout", "ffn_dropout"),
}


def v2_config(
    num_speakers: int = 4, size: Literal["full", "tiny"] = "full", streaming: bool = True,
    dropout: float | None = None,
) -> dict[str, Any]:
    """The ``model:`` section of a Streaming Sortformer v2 config, streaming at the card's preset.

    ``streaming=False`` gives the offline variant (full attention over the whole recording).
    ``dropout`` replaces every dropout rate (v2 has 0.5 in the Transformer and heads, 0.1 in
    the encoder), for instance for a tiny model that must learn in minutes.
    """
    config = _v2(num_speakers, _SIZES[size], streaming)
    if dropout is not None:
        for module, names in _DROPOUTS.items():
            config[module].update(dict.fromkeys(names, dropout))
    return config


def _v2(num_speakers: int, s: dict[str, int], streaming: bool) -> dict[str, Any]:
    card = PRESETS["card"].for_speakers(num_speakers)
    return {
        "target": SORTFORMER_TARGET,
        "sample_rate": 16000,
        "pil_weight": 0.5,
        "ats_weight": 0.5,
        "max_num_of_spks": num_speakers,
        "streaming_mode": streaming,
        "model_defaults": {"fc_d_model": s["fc"], "tf_d_model": s["tf"]},
        "preprocessor": {
            "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
            "normalize": "NA", "window_size": 0.025, "sample_rate": 16000, "window_stride": 0.01,
            "window": "hann", "features": 128, "n_fft": 512, "frame_splicing": 1, "dither": 0.00001,
        },
        "sortformer_modules": {
            "_target_": "nemo.collections.asr.modules.sortformer_modules.SortformerModules",
            "num_spks": num_speakers, "dropout_rate": 0.5, "fc_d_model": s["fc"], "tf_d_model": s["tf"],
            "spkcache_len": card.spkcache_len, "fifo_len": card.fifo_len,
            "chunk_len": card.chunk_len, "spkcache_update_period": card.spkcache_update_period,
            "chunk_left_context": card.chunk_left_context,
            "chunk_right_context": card.chunk_right_context,
            "spkcache_sil_frames_per_spk": 3, "causal_attn_rate": 0.5, "causal_attn_rc": 7,
        },
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConformerEncoder",
            "feat_in": 128, "feat_out": -1, "n_layers": s["conformer_layers"], "d_model": s["fc"],
            "subsampling": "dw_striding", "subsampling_factor": 8,
            "subsampling_conv_channels": s["subsampling_channels"], "causal_downsampling": False,
            "ff_expansion_factor": s["ff_expansion"], "self_attention_model": "rel_pos",
            "n_heads": s["conformer_heads"], "att_context_size": [-1, -1], "att_context_style": "regular",
            "xscaling": True, "untie_biases": True, "pos_emb_max_len": 5000, "conv_kernel_size": 9,
            "conv_norm_type": "batch_norm", "conv_context_size": None, "dropout": 0.1,
            "dropout_pre_encoder": 0.1, "dropout_emb": 0.0, "dropout_att": 0.1,
        },
        "transformer_encoder": {
            "_target_": "nemo.collections.asr.modules.transformer.transformer_encoders.TransformerEncoder",
            "num_layers": s["transformer_layers"], "hidden_size": s["tf"], "inner_size": s["transformer_inner"],
            "num_attention_heads": s["transformer_heads"], "attn_score_dropout": 0.5,
            "attn_layer_dropout": 0.5, "ffn_dropout": 0.5, "hidden_act": "relu", "pre_ln": False,
            "pre_ln_final_layer_norm": True,
        },
        "loss": {"_target_": "nemo.collections.asr.losses.bce_loss.BCELoss", "weight": None, "reduction": "mean"},
    }


def build_random_model(
    num_speakers: int = 4,
    size: Literal["full", "tiny"] = "full",
    seed: int = 0,
    save_to: str | Path | None = None,
    streaming: bool = True,
    dropout: float | None = None,
):
    """A randomly initialised ``SortformerEncLabelModel`` in eval mode, optionally saved as ``.nemo``."""
    import torch
    from omegaconf import OmegaConf

    from .checkpoint import import_sortformer_class

    model_class = import_sortformer_class()
    torch.manual_seed(seed)
    model = model_class(cfg=OmegaConf.create(v2_config(num_speakers, size, streaming, dropout))).eval()
    if save_to is not None:
        model.save_to(str(save_to))
    return model
