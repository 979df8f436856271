"""GPU benchmark, diffusers side: builds the full-size Stable Diffusion 1.5 architecture with
randomly initialised weights (UNet 320/640/1280/1280, ViT-L/14 text encoder, the SD VAE), saves it
in diffusers layout (float16) to the folder given, and times diffusers on CUDA at 512×512,
20 DPM++ 2M steps, CFG 7.5, float16 (one warm-up, median of 5). `scripts/bench-engine-gpu` then
runs pingvas-gen on the same folder.

    python engine/parity/gpu_sd15.py OUT_DIR
"""

import json
import pathlib
import statistics
import sys
import time

import torch
from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def build(out: pathlib.Path):
    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768)  # diffusers' defaults are SD 1.5's
    vae = AutoencoderKL(
        block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=512,
        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        hidden_act="quick_gelu", max_position_embeddings=77,
    ))
    # The committed tiny vocabulary: tokenisation cost is negligible either way.
    tokenizer = CLIPTokenizer.from_pretrained(str(FIXTURES / "tiny-sd1" / "tokenizer"))
    scheduler = DPMSolverMultistepScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                            steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.to(torch.float16).save_pretrained(str(out), safe_serialization=True)


def bench(out: pathlib.Path):
    pipe = StableDiffusionPipeline.from_pretrained(str(out), torch_dtype=torch.float16).to("cuda")
    pipe.vae.to(torch.float32)  # as the engine: VAE in f32
    pipe.set_progress_bar_config(disable=True)
    times = []
    for run in range(6):
        torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.inference_mode():
            pipe("a penguin wearing a tuxedo", negative_prompt="blurry", height=512, width=512, num_inference_steps=20,
                 guidance_scale=7.5, generator=torch.Generator("cuda").manual_seed(run), output_type="np")
        torch.cuda.synchronize()
        if run > 0:
            times.append(time.perf_counter() - started)
    print(json.dumps({"engine": f"diffusers-torch-{torch.__version__}", "device": torch.cuda.get_device_name(),
                      "seconds_per_image": round(statistics.median(times), 3),
                      "steps_per_second": round(20 / statistics.median(times), 2)}))


if __name__ == "__main__":
    folder = pathlib.Path(sys.argv[1])
    if not (folder / "model_index.json").exists():
        build(folder)
    bench(folder)
