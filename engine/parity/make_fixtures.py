"""Builds the engine's parity fixtures with the reference implementation (Hugging Face
transformers / diffusers) and writes them under engine/tests/fixtures/.

Run once, commit the outputs; the Rust tests compare against them. So far: the tiny CLIP
tokenizer (a vocabulary and merges trained here on a small corpus, the way CLIP's files are laid
out) and golden token ids for SD1-style (pad with <|endoftext|>) and SD2-style (pad with "!")
padding. Then scheduler trajectories (DDIM so far): timesteps and every
step's output for fixed samples and model outputs, per configuration. The tiny model pipelines
are added with the rest of the engine.

    python3 -m venv .venv-parity && .venv-parity/bin/pip install transformers==4.46.3 torch==2.15.0 diffusers==0.31.0
    .venv-parity/bin/python engine/parity/make_fixtures.py

ftfy is deliberately not installed: without it transformers' CLIPTokenizer cleans text with its
BasicTokenizer, which is what the engine reproduces (and what diffusers does where ftfy is absent).
"""

import collections
import json
import pathlib

from transformers import CLIPTokenizer
from transformers.models.clip.tokenization_clip import bytes_to_unicode

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
MERGES = 300

CORPUS = """
a photograph of an astronaut riding a horse on the moon
a penguin wearing a tuxedo, studio lighting, highly detailed
portrait of a penguin in the snow, oil painting, trending on artstation
a cat sitting on a red chair in a sunny room
landscape with mountains and a lake at sunset, 4k, photorealistic
it's a beautiful day; the penguins don't mind the cold
"""

PROMPTS = [
    "a penguin",
    "A Penguin Wearing a TUXEDO, studio lighting!!",
    "  portrait\tof a   penguin\n\nin the snow  ",
    "it's 4k: 1024x768 pixels, 3.5 stars",
    "café crème brûlée, naïve",
    "東京の夜景 and ペンギン",
    "emoji 🐧🎩 penguin",
    "zero\u200bwidth and soft\u00adhyphen",
    "<|startoftext|>explicit special tokens<|endoftext|>",
    "",
    " ".join(["penguin"] * 90),
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
]


def train_bpe(corpus: str, merges: int):
    """Byte-level BPE in CLIP's layout: words lower-cased, last symbol marked with </w>."""
    byte_encoder = bytes_to_unicode()
    words = collections.Counter()
    for word in corpus.lower().split():
        symbols = [byte_encoder[b] for b in word.encode("utf-8")]
        symbols[-1] += "</w>"
        words[tuple(symbols)] += 1
    learned = []
    for _ in range(merges):
        pairs = collections.Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        # Most frequent; ties broken by the pair itself, so the result is deterministic.
        best = min(pairs, key=lambda p: (-pairs[p], p))
        learned.append(best)
        merged = collections.Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    base = list(bytes_to_unicode().values())
    vocab = base + [c + "</w>" for c in base] + ["".join(m) for m in learned]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {token: i for i, token in enumerate(vocab)}, learned


SCHEDULER_CONFIGS = {
    # Stable Diffusion 1.5's scheduler_config.json (DDIM flavour).
    "sd1": {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
            "num_train_timesteps": 1000, "steps_offset": 1, "set_alpha_to_one": False,
            "clip_sample": False, "prediction_type": "epsilon", "timestep_spacing": "leading"},
    # Stable Diffusion 2.1 (768): v-prediction.
    "sd2_v": {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
              "num_train_timesteps": 1000, "steps_offset": 1, "set_alpha_to_one": False,
              "clip_sample": False, "prediction_type": "v_prediction", "timestep_spacing": "leading"},
    # SD-Turbo: trailing spacing.
    "turbo": {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
              "num_train_timesteps": 1000, "steps_offset": 1, "set_alpha_to_one": False,
              "clip_sample": False, "prediction_type": "epsilon", "timestep_spacing": "trailing"},
    "linear": {"beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02,
               "num_train_timesteps": 1000, "steps_offset": 0, "set_alpha_to_one": True,
               "clip_sample": False, "prediction_type": "epsilon", "timestep_spacing": "linspace"},
}


def scheduler_fixtures():
    import numpy as np
    import torch
    from diffusers import DDIMScheduler

    rng = np.random.default_rng(1234)
    size, steps = 8, 10
    sample = rng.standard_normal(size)
    outputs = rng.standard_normal((steps, size))
    golden = {"size": size, "steps": steps, "sample": sample.tolist(), "model_outputs": outputs.tolist(), "ddim": {}}
    for name, config in SCHEDULER_CONFIGS.items():
        scheduler = DDIMScheduler(**config)
        scheduler.set_timesteps(steps)
        x = torch.tensor(sample, dtype=torch.float64)
        trajectory = []
        for i, t in enumerate(scheduler.timesteps):
            eps = torch.tensor(outputs[i], dtype=torch.float64)
            x = scheduler.step(eps, t, x, eta=0.0).prev_sample
            trajectory.append(x.tolist())
        golden["ddim"][name] = {
            "config": config,
            "timesteps": scheduler.timesteps.tolist(),
            "trajectory": trajectory,
        }
    (OUT / "scheduler_golden.json").write_text(json.dumps(golden, indent=1), encoding="utf-8")
    print(f"scheduler trajectories for {len(SCHEDULER_CONFIGS)} configurations")


def main():
    tokenizer_dir = OUT / "tiny-sd" / "tokenizer"
    tokenizer_dir.mkdir(parents=True, exist_ok=True)
    vocab, merges = train_bpe(CORPUS, MERGES)
    (tokenizer_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (tokenizer_dir / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8"
    )

    golden = {"prompts": PROMPTS, "max_length": 77}
    for style, pad in [("sd1", "<|endoftext|>"), ("sd2", "!")]:
        tokenizer = CLIPTokenizer(
            str(tokenizer_dir / "vocab.json"), str(tokenizer_dir / "merges.txt"), pad_token=pad
        )
        assert tokenizer.fix_text is None, "uninstall ftfy: the fixtures follow the BasicTokenizer path"
        tokenizer.model_max_length = 77
        if style == "sd1":
            tokenizer.save_pretrained(str(tokenizer_dir))
        golden[style] = {
            "pad_token": pad,
            "tokens": [tokenizer.tokenize(p) for p in PROMPTS],
            "input_ids": [
                tokenizer(p, padding="max_length", max_length=77, truncation=True).input_ids for p in PROMPTS
            ],
        }
    (OUT / "tokenizer_golden.json").write_text(json.dumps(golden, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"vocabulary of {len(vocab)} tokens, {len(merges)} merges, {len(PROMPTS)} golden prompts")
    scheduler_fixtures()


if __name__ == "__main__":
    main()
