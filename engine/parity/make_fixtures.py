"""Builds the engine's parity fixtures with the reference implementation (Hugging Face
transformers / diffusers) and writes them under engine/tests/fixtures/.

Run once, commit the outputs; the Rust tests compare against them:
- a tiny CLIP tokenizer (a vocabulary and merges trained here on a small corpus, the way CLIP's
  files are laid out) and golden token ids for SD1-style (pad with <|endoftext|>) and SD2-style
  (pad with "!") padding;
- scheduler trajectories: for five model scheduler configs and every scheduler kind, timesteps,
  noise scales and every step's output for fixed samples, model outputs and noise;
- two tiny Stable Diffusion pipelines in diffusers layout (tiny-sd1, tiny-sd2) and what diffusers
  computes with them (pipelines.py).

    python3 -m venv .venv-parity && .venv-parity/bin/pip install transformers==4.46.3 torch==2.15.0 diffusers==0.31.0 safetensors
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
    # Stable Diffusion 1.5 as published (a PNDM config without timestep_spacing): each scheduler
    # then uses its own default spacing.
    "sd15_published": {"_class_name": "PNDMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                       "beta_end": 0.012, "num_train_timesteps": 1000, "steps_offset": 1, "set_alpha_to_one": False,
                       "clip_sample": False, "skip_prk_steps": True, "trained_betas": None},
    "linear": {"beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02,
               "num_train_timesteps": 1000, "steps_offset": 0, "set_alpha_to_one": True,
               "clip_sample": False, "prediction_type": "epsilon", "timestep_spacing": "linspace"},
}


SCHEDULER_CLASSES = {
    "ddim": ("DDIMScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {}),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
}


def make_scheduler(kind: str, config: dict):
    """The scheduler a user picks, built from a model's scheduler config the way diffusers'
    `from_config` does: the model's keys, the class defaults for the rest."""
    import diffusers

    class_name, extra = SCHEDULER_CLASSES[kind]
    return getattr(diffusers, class_name).from_config({**config, **extra})


def scheduler_fixtures():
    import numpy as np
    import torch

    rng = np.random.default_rng(1234)
    size, steps = 8, 10
    sample = rng.standard_normal(size)
    outputs = rng.standard_normal((steps, size))
    golden = {"size": size, "steps": steps, "sample": sample.tolist(), "model_outputs": outputs.tolist(), "cases": []}
    for config_name, config in SCHEDULER_CONFIGS.items():
        for kind in SCHEDULER_CLASSES:
            scheduler = make_scheduler(kind, config)
            scheduler.set_timesteps(steps)
            generator = torch.Generator().manual_seed(99)
            x = torch.tensor(sample, dtype=torch.float64) * float(scheduler.init_noise_sigma)
            input_scales, noises, trajectory = [], [], []
            for i, t in enumerate(scheduler.timesteps):
                input_scales.append(float(scheduler.scale_model_input(torch.ones(1, dtype=torch.float64), t)[0]))
                eps = torch.tensor(outputs[i], dtype=torch.float64)
                # Euler ancestral draws its noise inside step(): replay the generator to record it.
                replay = torch.Generator().set_state(generator.get_state())
                noises.append(torch.randn(eps.shape, generator=replay, dtype=torch.float64).tolist())
                kwargs = {"eta": 0.0} if kind == "ddim" else {"generator": generator}
                x = scheduler.step(eps, t, x, **kwargs).prev_sample
                trajectory.append(x.tolist())
            golden["cases"].append({
                "config_name": config_name,
                "scheduler": kind,
                "config": config,
                "timesteps": [float(t) for t in scheduler.timesteps],
                "init_noise_sigma": float(scheduler.init_noise_sigma),
                "input_scales": input_scales,
                "noises": noises if kind == "euler_a" else None,
                "trajectory": trajectory,
            })
    (OUT / "scheduler_golden.json").write_text(json.dumps(golden, indent=1), encoding="utf-8")
    print(f"scheduler trajectories: {len(golden['cases'])} scheduler and configuration pairs")


def main():
    import tempfile

    import pipelines

    with tempfile.TemporaryDirectory() as scratch:
        tokenizer_dir = pathlib.Path(scratch)
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
        # Every scheduler on the SD1-style model; a deterministic and an ancestral one on SD2.
        pipelines.write("sd1", tokenizer_dir, OUT, list(SCHEDULER_CLASSES), make_scheduler)
        pipelines.write("sd2", tokenizer_dir, OUT, ["ddim", "euler_a", "dpmpp_2m_karras"], make_scheduler)


if __name__ == "__main__":
    main()
