"""Tiny, randomly initialised Stable Diffusion pipelines, saved in diffusers' own format.

They are built from configs the way diffusers' own tests build their dummy
components (``get_dummy_components``): a 2-block UNet, a 2-block VAE, a 3-layer
CLIP text encoder with a byte-level tokenizer written locally, and a DDIM
scheduler. They produce noise-like images in milliseconds, which is what lets
the generators, the tests and the benchmark exercise the exact loading and
sampling path of a real model on a machine without weights::

    python -m spinml_diffusers.tiny models/tiny-sd            # text-to-image (and img2img)
    python -m spinml_diffusers.tiny models/tiny-inpaint --inpaint
    python -m spinml_diffusers.tiny models/tiny-controlnet --controlnet
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

__all__ = ["save_tiny_pipeline", "save_tiny_controlnet", "write_tiny_tokenizer"]

CROSS_ATTENTION_DIM = 32
BLOCKS = (4, 8)


def _byte_alphabet() -> list[str]:
    """The 256 printable stand-ins of bytes that CLIP's byte-level BPE uses."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in printable]
    return [chr(c) for c in printable] + [chr(256 + k) for k in range(len(extra))]


def write_tiny_tokenizer(path: Path) -> Path:
    """Write a character-level CLIP tokenizer (``vocab.json`` + ``merges.txt``) to ``path``."""
    from transformers import CLIPTokenizer

    path.mkdir(parents=True, exist_ok=True)
    chars = _byte_alphabet()
    tokens = ["<|startoftext|>", "<|endoftext|>", *chars, *(c + "</w>" for c in chars)]
    (path / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (path / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(path / "vocab.json"), str(path / "merges.txt"), model_max_length=77)
    tokenizer.save_pretrained(path)
    return path


def _components(in_channels: int, seed: int) -> dict[str, object]:
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=BLOCKS, layers_per_block=1, sample_size=16, in_channels=in_channels,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=CROSS_ATTENTION_DIM,
        norm_num_groups=2)
    vae = AutoencoderKL(
        block_out_channels=BLOCKS, in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=2)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=CROSS_ATTENTION_DIM,
        intermediate_size=37, layer_norm_eps=1e-5, num_attention_heads=4, num_hidden_layers=3,
        vocab_size=1000))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = CLIPTokenizer.from_pretrained(write_tiny_tokenizer(Path(tmp)))
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": scheduler, "safety_checker": None, "feature_extractor": None}


def save_tiny_pipeline(path: str | Path, *, inpaint: bool = False, seed: int = 0) -> Path:
    """Save a tiny random Stable Diffusion pipeline (``inpaint``: a 9-channel inpainting UNet)."""
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline

    cls = StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline
    pipe = cls(**_components(9 if inpaint else 4, seed), requires_safety_checker=False)
    pipe.save_pretrained(path)
    return Path(path)


def save_tiny_controlnet(path: str | Path, *, seed: int = 0) -> Path:
    """Save a tiny random ControlNet matching :func:`save_tiny_pipeline`'s UNet."""
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    ControlNetModel(
        block_out_channels=BLOCKS, layers_per_block=1, in_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        cross_attention_dim=CROSS_ATTENTION_DIM, conditioning_embedding_out_channels=(8, 16),
        norm_num_groups=2).save_pretrained(path)
    return Path(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--inpaint", action="store_true", help="a 9-channel inpainting pipeline")
    kind.add_argument("--controlnet", action="store_true", help="a ControlNet model")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.controlnet:
        save_tiny_controlnet(args.path, seed=args.seed)
    else:
        save_tiny_pipeline(args.path, inpaint=args.inpaint, seed=args.seed)
    print(args.path)


if __name__ == "__main__":
    main()
