"""diffusers on the committed tiny models, on this machine's CPU, with the settings of
engine/benches/tiny_cpu.rs (same prompts, DPM++ 2M, CFG 7.5, 20 steps, sizes 32 and 128, one
warm-up then the median of 3 runs), printing one JSON line per case like the Rust bench.

    .venv-parity/bin/python engine/parity/bench_diffusers.py
"""

import json
import os
import pathlib
import statistics
import time

import torch
from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

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


if __name__ == "__main__":
    main()
