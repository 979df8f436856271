"""The two Python halves of `scripts/bench-starter`, around the Rust engine's generation:

    bench_starter.py prompts --out DIR     writes DIR/prompts.txt: "a red apple", then --count
                                           names drawn at random (seeded) from the dataset
    bench_starter.py score --out DIR       ranks the engine's images DIR/img-N.png (line N of
                                           prompts.txt) against every image of the dataset,
                                           writes DIR/report.json and DIR/contact.png and
                                           prints the table

The ranking is evaluate.py's (16×16 RGB box means, Euclidean distance), so the engine's numbers
and diffusers' (evaluate.py) are comparable. Needs numpy and Pillow only.
"""

import argparse
import json
import pathlib
import statistics

import numpy as np
from PIL import Image

import evaluate

ACCEPTANCE_PROMPT = "a red apple"
ACCEPTANCE_NAME = "red apple"


def prompts(args):
    _, entries = evaluate.load_dataset(args.data)
    chosen = evaluate.draw(entries, args.count, args.seed)
    lines = [ACCEPTANCE_PROMPT] + [entries[i]["name"] for i in chosen]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "prompts.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (args.out / "chosen.json").write_text(json.dumps({"seed": args.seed, "chosen": chosen}), encoding="utf-8")
    print(f"{len(lines)} prompts -> {args.out / 'prompts.txt'}")


def score(args):
    images, entries = evaluate.load_dataset(args.data)
    chosen = json.loads((args.out / "chosen.json").read_text(encoding="utf-8"))["chosen"]
    lines = (args.out / "prompts.txt").read_text(encoding="utf-8").splitlines()
    apple = next(i for i, e in enumerate(entries) if e["name"] == ACCEPTANCE_NAME)
    targets = [apple] + chosen
    assert len(lines) == len(targets), "prompts.txt and chosen.json disagree: run `prompts` again"
    generated = np.stack([
        np.asarray(Image.open(args.out / f"img-{n + 1}.png").convert("RGB").resize((64, 64), Image.BOX))
        for n in range(len(targets))
    ])
    rank, nearest = evaluate.ranks(generated, targets, evaluate.features(images))
    drawn = rank[1:]  # the random names; the apple is reported on its own
    top1, top5 = float((drawn < 1).mean()), float((drawn < 5).mean())
    runs = [json.loads(line) for line in (args.out / "timings.jsonl").read_text().splitlines() if line.strip()]
    # The first image also pays for warming caches; a user's request runs on a warm worker.
    seconds = [r["seconds_per_image"] for r in runs[1:]] or [r["seconds_per_image"] for r in runs]
    report = {
        "model": args.model, "count": len(chosen), "seed": args.seed, "feature_space": "16x16 RGB box means, L2",
        "top1": top1, "top5": top5, "median_rank": float(np.median(drawn) + 1), "red_apple_rank": int(rank[0]) + 1,
        "seconds_per_image_median": statistics.median(seconds), "seconds_per_image_mean": statistics.mean(seconds),
        "engine": "burn (pingvas-gen)", "settings": runs[0] if runs else None,
        "results": [{"prompt": p, "index": i, "rank": int(r) + 1, "nearest": [entries[k]["name"] for k in n]}
                    for p, i, r, n in zip(lines, targets, rank, nearest)],
    }
    (args.out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    sheet = slice(0, 20)
    evaluate.contact_sheet(
        args.out / "contact.png", lines[sheet], generated[sheet], images[targets[sheet]],
        [int(r) for r in rank[sheet]], [entries[n[0]]["name"] for n in nearest[sheet]],
    )
    print(f"contact sheet of the first 20 prompts: {args.out / 'contact.png'}; report: {args.out / 'report.json'}")
    print()
    print(f"starter model, {len(chosen)} names drawn with seed {args.seed} from {len(entries)}, ranked among all")
    print(f"{'top-1':>8} {'top-5':>8} {'median rank':>12} {'red apple rank':>15} {'s/image (median)':>17}")
    print(f"{top1:>8.1%} {top5:>8.1%} {report['median_rank']:>12.0f} {report['red_apple_rank']:>15} "
          f"{report['seconds_per_image_median']:>17.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["prompts", "score"])
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--data", type=pathlib.Path, default=evaluate.CACHE / "dataset")
    parser.add_argument("--model", default="engine/starter/model")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    {"prompts": prompts, "score": score}[args.command](args)


if __name__ == "__main__":
    main()
