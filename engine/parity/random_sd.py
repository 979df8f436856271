"""The diffusers side of the full-size benchmarks: random-weight Stable Diffusion pipelines built
from committed configs, shared starting noise, and timed diffusers runs whose final latents the
engine's are compared with. Used by scripts/gpu-check (on a GPU, or `--cpu-dry-run` here) and
scripts/bench-engine (the CPU row for SD 1.5).

    python engine/parity/random_sd.py build CONFIG_DIR OUT_DIR [--seed 0] [--dtype fp16|fp32] [--device cuda|cpu]
    python engine/parity/random_sd.py noise OUT.bin --shape B,C,H,W [--seed 0]
    python engine/parity/random_sd.py bench MODEL_DIR --noise FILE --batch B --size PX --steps N
        [--cfg 7.5] [--runs 3] [--device cuda|cpu] [--dtype fp16|fp32] [--latents-out FILE]

`build` reads only the JSON configs (model_index, scheduler, text_encoder, unet, vae) and the
tokenizer of CONFIG_DIR, initialises every module with PyTorch's default initialisers under
`torch.manual_seed(seed)` (the same distributions as the engine's `--random-weights`), and saves
a diffusers folder (safetensors) that both diffusers and the engine load: identical weights on
both sides. `noise` writes standard normals as little-endian f32 (numpy `tofile`), the format of
pingvas-gen's `--noise` and `--save-latents`. `bench` prints one JSON line per timed run and a
summary line; it works with diffusers 0.31 (here) and the newer releases carried to a GPU host.
"""

import argparse
import json
import pathlib
import resource
import shutil
import statistics
import time

import numpy as np
import torch

DTYPES = {"fp16": torch.float16, "fp32": torch.float32}


def read_json(path: pathlib.Path):
    return json.loads(path.read_text())


def build(args):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    config_dir, out = pathlib.Path(args.config_dir), pathlib.Path(args.out_dir)
    dtype = DTYPES[args.dtype]
    device = torch.device(args.device)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    # Initialised on the target device (seconds on a GPU for SD 1.5's billion parameters), saved
    # from there; the config files are copied as committed so that both sides read the same.
    with device:
        text_encoder = CLIPTextModel(CLIPTextConfig.from_json_file(str(config_dir / "text_encoder" / "config.json")))
        unet = UNet2DConditionModel.from_config(read_json(config_dir / "unet" / "config.json"))
        vae = AutoencoderKL.from_config(read_json(config_dir / "vae" / "config.json"))
    for name, module, stem in [("text_encoder", text_encoder, "model"), ("unet", unet, "diffusion_pytorch_model"),
                               ("vae", vae, "diffusion_pytorch_model")]:
        folder = out / name
        folder.mkdir(exist_ok=True)
        from safetensors.torch import save_file
        state = {k: v.detach().to(dtype if name != "vae" else torch.float32).contiguous().cpu()
                 for k, v in module.state_dict().items() if not k.endswith("position_ids")}
        save_file(state, str(folder / f"{stem}.safetensors"), metadata={"format": "pt"})
        shutil.copy(config_dir / name / "config.json", folder / "config.json")
    shutil.copytree(config_dir / "tokenizer", out / "tokenizer", dirs_exist_ok=True)
    (out / "scheduler").mkdir(exist_ok=True)
    shutil.copy(config_dir / "scheduler" / "scheduler_config.json", out / "scheduler" / "scheduler_config.json")
    shutil.copy(config_dir / "model_index.json", out / "model_index.json")
    params = sum(p.numel() for m in (text_encoder, unet, vae) for p in m.parameters())
    print(json.dumps({"built": str(out), "parameters": params, "dtype": args.dtype}), flush=True)


def noise(args):
    shape = [int(x) for x in args.shape.split(",")]
    values = np.random.default_rng(args.seed).standard_normal(shape, dtype=np.float32)
    values.astype("<f4").tofile(args.out)


def bench(args):
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

    device, dtype = torch.device(args.device), DTYPES[args.dtype]
    pipe = StableDiffusionPipeline.from_pretrained(args.model_dir, torch_dtype=dtype, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    pipe = pipe.to(device)
    pipe.vae.to(torch.float32)  # as the engine: the VAE in f32
    pipe.set_progress_bar_config(disable=True)
    if device.type == "cpu":
        torch.set_num_threads(torch.get_num_threads())
    latent = args.size // pipe.vae_scale_factor
    channels = pipe.unet.config.in_channels
    initial = np.fromfile(args.noise, dtype="<f4").reshape(args.batch, channels, latent, latent)
    final = {}

    step_ends = []

    def keep_latents(_pipe, step, _t, kwargs):
        sync()
        step_ends.append(time.perf_counter())
        final["latents"] = kwargs["latents"]
        return kwargs

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, step_seconds = [], []
    for run in range(args.runs + 1):
        step_ends.clear()
        latents = torch.from_numpy(initial).to(device=device, dtype=dtype)
        sync()
        started = time.perf_counter()
        with torch.inference_mode():
            pipe(["a penguin wearing a tuxedo"] * args.batch, negative_prompt=["blurry"] * args.batch,
                 height=args.size, width=args.size, num_inference_steps=args.steps, guidance_scale=args.cfg,
                 latents=latents, output_type="np", callback_on_step_end=keep_latents)
        sync()
        seconds = time.perf_counter() - started
        if run > 0:  # the first run warms up kernels and allocator
            times.append(seconds)
            step_seconds.extend(b - a for a, b in zip(step_ends, step_ends[1:]))
    seconds = statistics.median(times)
    summary = {
        "engine": f"diffusers-{__import__('diffusers').__version__}-torch-{torch.__version__}",
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "dtype": args.dtype,
        "batch": args.batch, "size": args.size, "steps": args.steps, "seconds": round(seconds, 4),
        "seconds_per_image": round(seconds / args.batch, 4), "steps_per_second": round(args.steps / seconds, 3),
        # Median time of a denoising step after the first (the first also holds the prompts).
        "step_seconds": round(statistics.median(step_seconds), 4) if step_seconds else None,
        "peak_device_mib": round(torch.cuda.max_memory_reserved() / 2**20) if device.type == "cuda" else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if args.latents_out:
        final["latents"].float().cpu().numpy().astype("<f4").tofile(args.latents_out)
    print(json.dumps(summary), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build")
    p.add_argument("config_dir")
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=DTYPES, default="fp16")
    p.add_argument("--device", default="cpu")
    p.set_defaults(run=build)
    p = sub.add_parser("noise")
    p.add_argument("out")
    p.add_argument("--shape", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=noise)
    p = sub.add_parser("bench")
    p.add_argument("model_dir")
    p.add_argument("--noise", required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--cfg", type=float, default=7.5)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=DTYPES, default="fp32")
    p.add_argument("--latents-out")
    p.set_defaults(run=bench)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
