"""Prompt adherence of the starter model, measured with diffusers (the reference the Rust engine
matches): for --count names drawn at random (seeded) from the dataset, generate one image each
(DPM-Solver++ 2M, --steps steps, CFG --guidance, 64×64, seed = the draw's index), rank every image
of the dataset by its distance to the result in a fixed small feature space (the images
box-downsampled to 16×16 RGB, values in [0, 1], Euclidean distance) and report top-1 and top-5
accuracy: how often the named emoji is the nearest image, or among the five nearest. Writes
report.json and contact.png (the first 20 prompts: the generated image, the dataset's image, the
rank) into --out.

    .venv-parity/bin/python engine/starter/evaluate.py --model engine/starter/model
"""

import argparse
import json
import pathlib
import random
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CACHE = pathlib.Path.home() / ".cache" / "pingvas-starter"


def features(images: np.ndarray) -> np.ndarray:
    """[N, 64, 64, 3] uint8 -> [N, 768] float: 4×4 box means, i.e. 16×16 RGB in [0, 1].

    The one definition of the starter model's feature space; engine/tests/integration/starter.rs (Rust) and
    end2end/tests/helpers.ts (`nearestStarterRef`) repeat it so their tests run without Python.
    """
    n, h, w, c = images.shape
    x = images.astype(np.float64).reshape(n, 16, h // 16, 16, w // 16, c).mean(axis=(2, 4)) / 255.0
    return x.reshape(n, -1)


def ranks(generated: np.ndarray, targets, dataset_features: np.ndarray):
    """The rank (0 = nearest) of each target among all dataset images, by distance to its image."""
    f = features(generated)
    d = ((f[:, None, :] - dataset_features[None, :, :]) ** 2).sum(-1)
    own = d[np.arange(len(targets)), targets]
    return (d < own[:, None]).sum(1), d.argsort(1)[:, :5]


def contact_sheet(path, prompts, generated, references, rank_list, nearest_names, cols=4):
    scale, pad, text_h = 2, 8, 34
    tile_w, tile_h = 2 * 64 * scale + pad, 64 * scale + text_h
    rows = -(-len(prompts) // cols)
    sheet = Image.new("RGB", (cols * tile_w + pad, rows * tile_h + pad + 20), "white")
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.load_default(size=12)
    except TypeError:
        font = ImageFont.load_default()
    draw.text((pad, 4), "each pair: generated (left) | dataset image of the prompt (right); rank among all images", fill="black", font=font)
    for i, (p, g, r, k, near) in enumerate(zip(prompts, generated, references, rank_list, nearest_names)):
        x, y = pad + (i % cols) * tile_w, 20 + pad + (i // cols) * tile_h
        sheet.paste(Image.fromarray(g).resize((64 * scale, 64 * scale), Image.NEAREST), (x, y))
        sheet.paste(Image.fromarray(r).resize((64 * scale, 64 * scale), Image.NEAREST), (x + 64 * scale, y))
        label = p if len(p) <= 34 else p[:33] + "…"
        colour = (0, 120, 0) if k < 5 else (180, 0, 0)
        draw.text((x, y + 64 * scale + 2), label, fill="black", font=font)
        draw.text((x, y + 64 * scale + 16), f"rank {k + 1}" + ("" if k == 0 else f" (nearest: {near[:22]})"), fill=colour, font=font)
    sheet.save(path)


def load_dataset(data):
    """The prepared set in `data`: images [N, 64, 64, 3] uint8 and their entries (prepare_data.py)."""
    data = pathlib.Path(data)
    images = np.load(data / "images.npy")
    entries = json.loads((data / "entries.json").read_text(encoding="utf-8"))["entries"]
    return images, entries


def draw(entries, count, seed):
    """The dataset indices of the names to generate: `count` of them, drawn with `seed`."""
    return random.Random(seed).sample(range(len(entries)), min(count, len(entries)))


def run(model, data, out_dir, threads=2, count=100, seed=0, steps=20, guidance=5.0, batch=10, scheduler=None):
    import torch  # here, so that scripts/bench-starter can use this module's ranking without torch
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

    torch.set_num_threads(threads)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images, entries = load_dataset(data)
    dataset_features = features(images)
    pipe = StableDiffusionPipeline.from_pretrained(str(model), torch_dtype=torch.float32, safety_checker=None)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config, **(scheduler or {}))
    pipe.set_progress_bar_config(disable=True)

    chosen = draw(entries, count, seed)
    prompts = [entries[i]["name"] for i in chosen]
    generated = []
    t0 = time.perf_counter()
    with torch.no_grad():
        for b in range(0, len(prompts), batch):
            gens = [torch.Generator().manual_seed(b + j) for j in range(len(prompts[b : b + batch]))]
            out = pipe(prompts[b : b + batch], num_inference_steps=steps, guidance_scale=guidance, generator=gens,
                       height=64, width=64, output_type="np").images
            generated.append((out * 255).round().astype(np.uint8))
    batch_seconds = (time.perf_counter() - t0) / len(prompts)
    generated = np.concatenate(generated)
    with torch.no_grad():  # one image at a time, as a user's request runs
        t1 = time.perf_counter()
        for j in range(3):
            pipe(prompts[j], num_inference_steps=steps, guidance_scale=guidance,
                 generator=torch.Generator().manual_seed(j), height=64, width=64, output_type="np")
        single_seconds = (time.perf_counter() - t1) / 3
    rank, nearest = ranks(generated, chosen, dataset_features)
    top1, top5 = float((rank < 1).mean()), float((rank < 5).mean())
    report = {
        "model": str(model), "count": len(prompts), "seed": seed, "steps": steps, "guidance": guidance,
        "scheduler": pipe.scheduler.__class__.__name__, "feature_space": "16x16 RGB box means, L2",
        "top1": top1, "top5": top5, "median_rank": float(np.median(rank) + 1),
        "seconds_per_image_diffusers_batched": batch_seconds, "seconds_per_image_diffusers_single": single_seconds,
        "threads": threads,
        "results": [{"prompt": p, "index": i, "rank": int(r) + 1, "nearest": [entries[k]["name"] for k in n]}
                    for p, i, r, n in zip(prompts, chosen, rank, nearest)],
    }
    (out_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    np.save(out_dir / "generated.npy", generated)
    # The contact sheet: "a red apple" first (the acceptance prompt), then the first 19 draws.
    apple = next((i for i, e in enumerate(entries) if e["name"] == "red apple"), None)
    sheet_prompts, sheet_gen, sheet_ref = prompts[:20], generated[:20], images[chosen[:20]]
    sheet_rank, sheet_near = [int(r) for r in rank[:20]], [entries[n[0]]["name"] for n in nearest[:20]]
    apple_rank = None
    if apple is not None:
        with torch.no_grad():
            apple_img = (pipe("a red apple", num_inference_steps=steps, guidance_scale=guidance,
                              generator=torch.Generator().manual_seed(0), height=64, width=64,
                              output_type="np").images * 255).round().astype(np.uint8)
        r, near = ranks(apple_img, [apple], dataset_features)
        apple_rank = int(r[0]) + 1
        report["red_apple_rank"] = apple_rank
        (out_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        sheet_prompts = ["a red apple"] + prompts[:19]
        sheet_gen = np.concatenate([apple_img, generated[:19]])
        sheet_ref = images[[apple] + chosen[:19]]
        sheet_rank = [int(r[0])] + sheet_rank[:19]
        sheet_near = [entries[near[0][0]]["name"]] + sheet_near[:19]
    contact_sheet(out_dir / "contact.png", sheet_prompts, sheet_gen, sheet_ref, sheet_rank, sheet_near)
    print(f"top-1 {top1:.1%}, top-5 {top5:.1%} over {len(prompts)} names (median rank {report['median_rank']:.0f} of "
          f"{len(entries)}); 'a red apple' rank {apple_rank}; diffusers {single_seconds:.2f} s/image "
          f"({batch_seconds:.2f} batched), {threads} threads -> {out_dir}", flush=True)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent / "model")
    parser.add_argument("--data", type=pathlib.Path, default=CACHE / "dataset")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--karras", action="store_true")
    args = parser.parse_args()
    out = args.out or args.model.parent / f"{args.model.name}-eval"
    run(args.model, args.data, out, args.threads, args.count, args.seed, args.steps, args.guidance,
        scheduler={"use_karras_sigmas": True} if args.karras else None)


if __name__ == "__main__":
    main()
