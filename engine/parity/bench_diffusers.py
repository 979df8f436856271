"""diffusers on the committed tiny models, on this machine's CPU, with the settings of
engine/benches/tiny_cpu.rs (same prompts, DPM++ 2M, CFG 7.5, 20 steps, sizes 32 and 128, one
warm-up then the median of 3 runs), printing one JSON line per case like the Rust bench; then
tiny-sd1 at 128 px in image-to-image (strength 0.6) and inpainting (strength 1, a centred square
mask) on the bench's gradient image.

    .venv-parity/bin/python engine/parity/bench_diffusers.py
"""

import json
import os
import pathlib
import statistics
import time

import torch
import numpy as np
import PIL.Image
from diffusers import (DPMSolverMultistepScheduler, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline,
                       StableDiffusionPipeline)

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
RUNS = 3
STEPS = int(os.environ.get("BENCH_STEPS", "20"))


def main():
    torch.set_num_threads(os.cpu_count())
    for variant in ["sd1", "sd2"]:
        pipe = StableDiffusionPipeline.from_pretrained(str(FIXTURES / f"tiny-{variant}"), torch_dtype=torch.float32)
        pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
        pipe.set_progress_bar_config(disable=True)
        for size in [32, 128]:
            times = []
            for run in range(RUNS + 1):
                started = time.perf_counter()
                with torch.inference_mode():
                    pipe("a penguin wearing a tuxedo, studio lighting", negative_prompt="blurry", height=size, width=size,
                         num_inference_steps=STEPS, guidance_scale=7.5, generator=torch.Generator().manual_seed(run),
                         output_type="np")
                if run > 0:
                    times.append(time.perf_counter() - started)
            seconds = statistics.median(times)
            print(json.dumps({"engine": f"diffusers-{__import__('diffusers').__version__}-torch-{torch.__version__}",
                              "model": f"tiny-{variant}", "size": size, "steps": STEPS,
                              "seconds_per_image": round(seconds, 4)}), flush=True)

    edit_rows()


def timed(call):
    times = []
    for run in range(RUNS + 1):
        started = time.perf_counter()
        with torch.inference_mode():
            call(run)
        if run > 0:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def edit_rows():
    size = 128
    x = np.arange(size) * 255 // (size - 1)
    image = np.stack([np.tile(x, (size, 1)), np.tile(x[:, None], (1, size)), np.full((size, size), 128)], axis=-1)
    image = PIL.Image.fromarray(image.astype(np.uint8), "RGB")
    mask = np.zeros((size, size), np.uint8)
    mask[size // 4:3 * size // 4, size // 4:3 * size // 4] = 255
    mask = PIL.Image.fromarray(mask, "L")
    common = dict(negative_prompt="blurry", num_inference_steps=STEPS, guidance_scale=7.5, output_type="np")
    for name, cls, kwargs in [("img2img", StableDiffusionImg2ImgPipeline, dict(image=image, strength=0.6)),
                              ("inpaint", StableDiffusionInpaintPipeline,
                               dict(image=image, mask_image=mask, strength=1.0, height=size, width=size))]:
        pipe = cls.from_pretrained(str(FIXTURES / "tiny-sd1"), torch_dtype=torch.float32)
        pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
        pipe.set_progress_bar_config(disable=True)
        seconds = timed(lambda run: pipe("a penguin wearing a tuxedo, studio lighting",
                                         generator=torch.Generator().manual_seed(run), **common, **kwargs))
        print(json.dumps({"engine": f"diffusers-{__import__('diffusers').__version__}-torch-{torch.__version__}",
                          "model": f"tiny-sd1 {name}", "size": size, "steps": STEPS,
                          "seconds_per_image": round(seconds, 4)}), flush=True)


if __name__ == "__main__":
    main()
