"""Trains PingvasAI's starter model, a small Stable Diffusion 1.x pipeline that draws the emoji
it is asked for, and saves it in diffusers layout (StableDiffusionPipeline.save_pretrained).

    .venv-parity/bin/python engine/starter/prepare_data.py
    .venv-parity/bin/python engine/starter/train_tokenizer.py
    .venv-parity/bin/python engine/starter/train.py [--out DIR] [--threads 2]
    .venv-parity/bin/python engine/starter/evaluate.py --model DIR

Two stages (the time each took and the estimated time left are printed as it goes). The VAE has a
fixed number of steps; the UNet's is --steps, or with --steps 0 (the default) as many as fit
--budget-minutes, measured over 20 steps, printed and stored in training.json. Pass --steps N
to repeat that run exactly on another machine:

1. an AutoencoderKL (SD 1.x architecture, four blocks: 64×64 RGB <-> 8×8×8 latents), trained on
   the dataset's images with L1 + L2 reconstruction and SD's small KL term;
2. a CLIPTextModel and a UNet2DConditionModel trained together on the VAE's latents with the
   DDPM objective of Stable Diffusion (SD 1.5's scaled-linear noise schedule, timesteps uniform
   but for --high-noise of each batch drawn from t >= 400,
   the caption replaced by the empty prompt 10 % of the time for classifier-free guidance), in
   its v-prediction form (SD 2.x's; --prediction epsilon gives SD 1.x's): with epsilon
   prediction the image estimate at high noise is the network's output divided by
   sqrt(alphas_cumprod) (~1/14 at t = 999), so the small errors of a briefly trained network
   become a wrong picture; in trials of the same length v-prediction got the layout right where
   epsilon (plain, min-SNR or v-weighted) gave noise. An EMA of the weights is what is saved.

Every random draw comes from generators seeded by (--seed, stage, step), so the run is
reproducible, and a run that is killed resumes from its last checkpoint (in --work, every
--checkpoint-every seconds and on SIGTERM/SIGINT) by running the same command again.

The exported weights are float16 (the script checks that this changes the images by less than
one 8-bit level on average) and total well under 15 MB.
"""

import argparse
import copy
import json
import math
import os
import pathlib
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

CACHE = pathlib.Path.home() / ".cache" / "pingvas-starter"
HERE = pathlib.Path(__file__).resolve().parent

# The architecture. All of it is standard SD 1.x configuration that the engine implements (see
# engine/src/unet.rs, vae.rs, clip.rs): only the sizes are small.
# The latents are 8×8×8: half the numbers of SD's 4-channel layout at 16×16, and a quarter of the
# positions. Expected: a quarter of the UNet's cost per image. Measured on 2 CPU threads: about
# the same cost per image as at 16×16 (torch's per-operation overhead dominates at 8×8), so the
# gain is the easier target, not more epochs (see README.md, "Runs").
VAE = dict(
    in_channels=3, out_channels=3, latent_channels=8, layers_per_block=1, norm_num_groups=16,
    block_out_channels=[16, 32, 64, 64], down_block_types=["DownEncoderBlock2D"] * 4,
    up_block_types=["UpDecoderBlock2D"] * 4, sample_size=64, mid_block_add_attention=True,
)
# 16 positions, not CLIP's 77: the longest name is 8 tokens, the longest caption fits, and the
# encoder's cost (and the UNet's cross-attention) is linear in it; at 77 the text encoder cost as
# much per step as the whole 8×8 UNet. The tokenizer's model_max_length is set to match, so
# diffusers and the engine pad and truncate prompts to 16 tokens.
MAX_TOKENS = 16
TEXT = dict(
    hidden_size=128, intermediate_size=512, num_hidden_layers=3, num_attention_heads=4,
    max_position_embeddings=MAX_TOKENS, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=128,
)
UNET = dict(
    sample_size=8, in_channels=8, out_channels=8, layers_per_block=1,
    block_out_channels=[32, 64, 128], norm_num_groups=32, attention_head_dim=4,
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    cross_attention_dim=128, transformer_layers_per_block=1,
)
# Stable Diffusion 1.5's noise schedule.
SCHEDULE = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
SCHEDULER = dict(
    SCHEDULE, prediction_type="epsilon", steps_offset=1, timestep_spacing="trailing",
    algorithm_type="dpmsolver++", solver_order=2,
)
# Keys DPMSolverMultistepScheduler does not take but DDIM does (a user may pick DDIM): SD 1.5's.
SCHEDULER_EXTRA = dict(set_alpha_to_one=False, clip_sample=False)

MODEL_NAME = "pingvas-starter-emoji"
CALIBRATE = 20  # UNet steps timed (after as many warm-up steps) to size the run to --budget-minutes


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def params(module):
    return sum(p.numel() for p in module.parameters())


def generator(seed, *keys):
    """A CPU generator seeded from the run's seed and the given keys (stage, step, ...)."""
    value = seed
    for k in keys:
        value = (value * 1_000_003 + k) % (2**63)
    return torch.Generator().manual_seed(value)


class Stopper:
    """Turns SIGTERM/SIGINT into a flag so the loop can checkpoint and exit cleanly."""

    def __init__(self):
        self.stop = False
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, *_):
        self.stop = True


def load_dataset(data: pathlib.Path):
    images = np.load(data / "images.npy")  # [N, 64, 64, 3] uint8
    meta = json.loads((data / "entries.json").read_text(encoding="utf-8"))
    assert len(images) == len(meta["entries"])
    return images, meta


def build_vae():
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    return AutoencoderKL(**VAE)


def build_text_unet(tokenizer):
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(1)
    text = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, **TEXT,
    ))
    torch.manual_seed(2)
    unet = UNet2DConditionModel(**UNET)
    return text, unet


class Checkpoint:
    """One file per stage in --work: the modules, optimizer, EMA and step; written atomically."""

    def __init__(self, work: pathlib.Path, stage: str):
        self.path = work / f"{stage}.pt"
        self.last = time.monotonic()

    def load(self):
        if self.path.exists():
            return torch.load(self.path, map_location="cpu", weights_only=False)
        return None

    def save(self, state):
        tmp = self.path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)
        self.last = time.monotonic()


def cosine_lr(step, total, peak, warmup, floor=0.05):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


class Progress:
    def __init__(self, name, start_step, total, every):
        self.name, self.total, self.every = name, total, every
        self.t0, self.s0 = time.monotonic(), start_step
        self.losses = []

    def step(self, step, loss, extra=""):
        self.losses.append(loss)
        if (step + 1) % self.every == 0 or step + 1 == self.total:
            done = step + 1 - self.s0
            elapsed = time.monotonic() - self.t0
            left = elapsed / max(1, done) * (self.total - step - 1)
            log(f"{self.name} step {step + 1}/{self.total} loss {np.mean(self.losses):.5f} {extra}"
                f"| {done / elapsed:.2f} steps/s, {elapsed / 60:.1f} min, ~{left / 60:.1f} min left")
            self.losses = []


# ---------------------------------------------------------------------------------------------
# Stage 1: the VAE.


def train_vae(args, images, stopper):
    dev = args.device
    vae = build_vae().to(dev)
    log(f"VAE: {params(vae) / 1e6:.2f} M parameters (decoder {params(vae.decoder) / 1e6:.2f} M), "
        f"{VAE['block_out_channels']}, latents {VAE['latent_channels']}x{64 // 2 ** (len(VAE['block_out_channels']) - 1)}^2")
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0, betas=(0.9, 0.99))
    ckpt = Checkpoint(args.work, "vae")
    start = 0
    state = ckpt.load()
    if state:
        vae.load_state_dict(state["model"])
        vae.to(dev)
        opt.load_state_dict(state["opt"])
        start = state["step"]
        log(f"VAE: resuming at step {start}")
    x_all = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)  # [-1, 1]
    n = len(x_all)
    progress = Progress("VAE", start, args.vae_steps, args.log_every)
    vae.train()
    for step in range(start, args.vae_steps):
        g = generator(args.seed, 1, step)
        idx = torch.randint(0, n, (args.vae_batch,), generator=g)
        x = x_all[idx].to(dev)
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, args.vae_steps, args.vae_lr, 100)
        posterior = vae.encode(x).latent_dist
        z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=g).to(dev)
        y = vae.decode(z).sample
        rec = (y - x).abs().mean() + 2 * ((y - x) ** 2).mean()
        kl = posterior.kl().mean() / x[0].numel()
        loss = rec + args.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        progress.step(step, rec.item())
        last = step + 1 == args.vae_steps
        if last or stopper.stop or time.monotonic() - ckpt.last > args.checkpoint_every:
            ckpt.save({"model": vae.state_dict(), "opt": opt.state_dict(), "step": step + 1})
            if stopper.stop:
                log("stopped: checkpoint saved; run the same command to resume")
                sys.exit(1)
    vae.eval()
    return vae


@torch.no_grad()
def encode_all(vae, images):
    x_all = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    dev = next(vae.parameters()).device
    means, stds, errors = [], [], []
    for i in range(0, len(x_all), 64):
        x = x_all[i : i + 64].to(dev)
        post = vae.encode(x).latent_dist
        means.append(post.mean)
        stds.append(post.std)
        y = vae.decode(post.mean).sample.clamp(-1, 1)
        errors.append(((y - x).abs() * 127.5).mean(dim=(1, 2, 3)))
    mean, std, err = torch.cat(means).cpu(), torch.cat(stds).cpu(), torch.cat(errors).cpu()
    return mean, std, err


# ---------------------------------------------------------------------------------------------
# Stage 2: the text encoder and the UNet.


def tokenize_captions(tokenizer, entries):
    """Token ids [captions, MAX_TOKENS] of every caption, and for each entry the range of its rows."""
    rows, ranges = [], []
    for e in entries:
        start = len(rows)
        rows.extend(e["captions"])
        ranges.append((start, len(rows)))
    # One untruncated pass, cut and padded here, so that the captions that are cut can be counted
    # without tokenizing everything twice. The same ids as the tokenizer's own
    # `padding="max_length", truncation=True` (checked on all 19,774 captions): a cut caption keeps
    # its end-of-text token last.
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    full = tokenizer(rows + [""]).input_ids
    cut = sum(len(ids) > MAX_TOKENS for ids in full)
    fitted = [ids[: MAX_TOKENS - 1] + [eos] if len(ids) > MAX_TOKENS else ids + [pad] * (MAX_TOKENS - len(ids)) for ids in full]
    log(f"{cut} of {len(rows)} captions are longer than {MAX_TOKENS} tokens and are cut")
    ids = torch.tensor(fitted)
    return ids[:-1], torch.tensor(ranges), ids[-1]


def ema_update(ema, model, decay):
    with torch.no_grad():
        for e, p in zip(ema.parameters(), model.parameters()):
            e.lerp_(p, 1 - decay)


def train_unet(args, tokenizer, entries, latents_mean, latents_std, scale, stopper):
    from diffusers import DDPMScheduler

    dev = args.device
    text, unet = build_text_unet(tokenizer)
    text.to(dev)
    unet.to(dev)
    log(f"text encoder: {params(text) / 1e6:.2f} M parameters; UNet: {params(unet) / 1e6:.2f} M parameters")
    ema_text, ema_unet = copy.deepcopy(text).requires_grad_(False), copy.deepcopy(unet).requires_grad_(False)
    model_params = list(text.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(model_params, lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ckpt = Checkpoint(args.work, "unet")
    start = 0
    state = ckpt.load()
    if state:
        text.load_state_dict(state["text"])
        unet.load_state_dict(state["unet"])
        ema_text.load_state_dict(state["ema_text"])
        ema_unet.load_state_dict(state["ema_unet"])
        opt.load_state_dict(state["opt"])
        start = state["step"]
        stored = state.get("total", args.steps)
        if args.steps and stored and args.steps != stored:
            # A new --steps on resume (to fit the time left): the learning-rate schedule follows
            # the new total from this step on. training.json records the final total.
            log(f"UNet: --steps {args.steps} replaces the checkpoint's total of {stored}")
            stored = max(args.steps, start + 1)
        args.steps = stored
        log(f"UNet: resuming at step {start} of {args.steps}")

    ids, ranges, empty = tokenize_captions(tokenizer, entries)
    name_rows = torch.tensor([r[0] for r in ranges.tolist()])  # the bare name is each entry's first caption
    n = len(entries)
    alphas_cumprod = DDPMScheduler(**SCHEDULE).alphas_cumprod.float()
    snr = alphas_cumprod / (1 - alphas_cumprod)
    # Per-timestep loss weights on the network's output: see --weighting.
    if args.weighting == "min-snr":
        weight = torch.clamp(snr, max=args.min_snr) / snr
        if args.prediction == "v_prediction":
            weight = torch.clamp(snr, max=args.min_snr) / (snr + 1)
    elif args.weighting == "v" and args.prediction == "epsilon":
        weight = (snr + 1) / snr  # = v-loss: x0's error counts fully at high noise
    else:
        weight = torch.ones_like(snr)
    total = args.steps if args.steps else None  # None: set from --budget-minutes after CALIBRATE steps
    progress = Progress("UNet", start, total or 10**9, args.log_every)
    text.train()
    unet.train()
    step, t_cal = start, None
    while total is None or step < total:
        if total is None and step == CALIBRATE and t_cal is None:
            t_cal = time.monotonic()
        if total is None and step == 2 * CALIBRATE:
            per_step = (time.monotonic() - t_cal) / CALIBRATE
            left = args.budget_minutes * 60 - (time.monotonic() - args.t0) - args.reserve_minutes * 60
            total = max(step + 1, int(left / per_step) + step)
            progress.total = total
            log(f"UNet: {per_step:.2f} s/step -> {total} steps in all to stay within --budget-minutes "
                f"{args.budget_minutes} (reproduce with --steps {total})")
        g = generator(args.seed, 2, step)
        # Each epoch visits every entry once, in an order fixed by (seed, epoch).
        epoch, offset = divmod(step * args.batch, n)
        order = torch.randperm(n, generator=generator(args.seed, 3, epoch))
        idx = torch.cat([order, torch.randperm(n, generator=generator(args.seed, 3, epoch + 1))])[offset : offset + args.batch]
        lo, hi = ranges[idx, 0], ranges[idx, 1]
        pick = lo + (torch.rand(len(idx), generator=g) * (hi - lo)).long()
        pick = torch.where(torch.rand(len(idx), generator=g) < args.name_prob, name_rows[idx], pick)
        tokens = ids[pick].clone()
        drop = torch.rand(len(idx), generator=g) < args.uncond_prob
        tokens[drop] = empty
        z0 = (latents_mean[idx] + latents_std[idx] * torch.randn(latents_mean[idx].shape, generator=g)) * scale
        # Which picture a caption means is decided at high noise; below t ~ 400 the latent already
        # shows it. --high-noise of the batch is drawn from t >= 400, the rest from all of [0, 1000).
        t = torch.randint(0, 1000, (len(idx),), generator=g)
        high = torch.randint(400, 1000, (len(idx),), generator=g)
        t = torch.where(torch.rand(len(idx), generator=g) < args.high_noise, high, t)
        noise = torch.randn(z0.shape, generator=g)
        a = alphas_cumprod[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        tokens, z0, noise, zt, a, w = (v.to(dev) for v in (tokens, z0, noise, zt, a, weight[t]))

        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, total or 10**9, args.lr, args.warmup)
        context = text(tokens)[0]
        pred = unet(zt, t.to(dev), encoder_hidden_states=context).sample
        target = noise if args.prediction == "epsilon" else a.sqrt() * noise - (1 - a).sqrt() * z0
        per = ((pred - target) ** 2).mean(dim=(1, 2, 3))
        loss = (per * w).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model_params, 1.0)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        ema_update(ema_text, text, decay)
        ema_update(ema_unet, unet, decay)
        progress.step(step, per.mean().item(), f"(epoch {epoch}) ")

        last = step + 1 == total
        if last or stopper.stop or (total and time.monotonic() - ckpt.last > args.checkpoint_every):
            ckpt.save({
                "text": text.state_dict(), "unet": unet.state_dict(), "ema_text": ema_text.state_dict(),
                "ema_unet": ema_unet.state_dict(), "opt": opt.state_dict(), "step": step + 1, "total": total,
            })
            if stopper.stop:
                log("stopped: checkpoint saved; run the same command to resume")
                sys.exit(1)
        step += 1
    args.steps = total
    return ema_text.cpu().eval(), ema_unet.cpu().eval()


# ---------------------------------------------------------------------------------------------
# Export.

README = """# {name}

PingvasAI's starter model: a small Stable Diffusion 1.x pipeline (CLIP text encoder, UNet2DConditionModel,
AutoencoderKL, DPM-Solver++ scheduler config) trained by `engine/starter/train.py` to draw the
{count} emoji of the Twemoji set at 64×64 from their names ("a red apple", "penguin", "grinning face").
It knows those names, their aliases and a few keywords; it does not draw anything else.

## Attribution

{attribution}

Names and keywords: emoji-datasource (MIT, Copyright (c) 2013 Cal Henderson) and emojilib
(MIT, Copyright (c) 2014 Mu-An Chiou).
"""


def export(args, tokenizer, text, unet, vae, scale, meta):
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionPipeline

    vae = copy.deepcopy(vae).cpu()
    vae.register_to_config(scaling_factor=float(scale))
    scheduler = DPMSolverMultistepScheduler(**dict(SCHEDULER, prediction_type=args.prediction))
    pipe = StableDiffusionPipeline(
        unet=unet, vae=vae, text_encoder=text, tokenizer=tokenizer, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    # What float16 changes: the same generations with float32 and with float16-rounded weights.
    pipe.set_progress_bar_config(disable=True)
    reference = generate_images(pipe, ["a red apple", "penguin", "grinning face", "rocket"], seed=0)
    rounded = copy.deepcopy(pipe)
    for module in (rounded.unet, rounded.text_encoder, rounded.vae):
        module.to(torch.float16).to(torch.float32)
    diff = np.abs(generate_images(rounded, ["a red apple", "penguin", "grinning face", "rocket"], seed=0).astype(float) - reference)
    log(f"float16 weights change the images by {diff.mean():.3f} levels on average (max {diff.max():.0f})")
    half = diff.mean() < 1.0
    dtype = torch.float16 if half else torch.float32
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    pipe.unet.to(dtype)
    pipe.text_encoder.to(dtype)
    pipe.vae.to(dtype)
    pipe.save_pretrained(str(out), safe_serialization=True)
    config_path = out / "scheduler" / "scheduler_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    # diffusers writes lambda_min_clipped = -inf as "-Infinity", which is not JSON (serde_json, the
    # engine's parser, refuses it); absent, it is -inf anyway.
    config = {k: v for k, v in config.items() if not (isinstance(v, float) and not math.isfinite(v))}
    config_path.write_text(json.dumps(dict(config, **SCHEDULER_EXTRA), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (out / "README.md").write_text(
        README.format(name=MODEL_NAME, count=len(meta["entries"]), attribution=meta["attribution"]), encoding="utf-8"
    )
    run = {k: str(v) if isinstance(v, pathlib.Path) else v for k, v in vars(args).items() if k != "t0"}
    (out / "training.json").write_text(json.dumps({
        "args": run, "vae": VAE, "text_encoder": TEXT, "unet": UNET, "scheduler": SCHEDULER,
        "parameters": {"vae": params(vae), "text_encoder": params(text), "unet": params(unet)},
        "dataset": {"source": meta["source"], "entries": len(meta["entries"]), "licence": meta["image_licence"]},
    }, indent=1), encoding="utf-8")
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    log(f"saved {out} ({'float16' if half else 'float32'}), {total / 1e6:.2f} MB in all")
    return total


@torch.no_grad()
def generate_images(pipe, prompts, seed, steps=20, guidance=5.0):
    gens = [torch.Generator().manual_seed(seed + i) for i in range(len(prompts))]
    out = pipe(prompts, num_inference_steps=steps, guidance_scale=guidance, generator=gens, height=64, width=64,
               output_type="np").images
    return (out * 255).round().astype(np.uint8)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=pathlib.Path, default=CACHE / "dataset")
    parser.add_argument("--tokenizer", type=pathlib.Path, default=CACHE / "tokenizer")
    parser.add_argument("--work", type=pathlib.Path, default=CACHE / "work", help="checkpoints")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "model", help="the saved pipeline")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (use 1 on a busy machine)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda where a GPU is lent (then raise --steps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vae-steps", type=int, default=1500)
    parser.add_argument("--vae-batch", type=int, default=16)
    parser.add_argument("--vae-lr", type=float, default=2e-3)
    parser.add_argument("--kl-weight", type=float, default=1e-6)
    parser.add_argument("--steps", type=int, default=0,
                        help="UNet + text encoder steps; 0: as many as --budget-minutes allows (printed)")
    parser.add_argument("--budget-minutes", type=float, default=82,
                        help="wall-clock budget of the whole run when --steps is 0")
    parser.add_argument("--reserve-minutes", type=float, default=2, help="kept for the export")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--ema", type=float, default=0.999)
    parser.add_argument("--prediction", choices=["epsilon", "v_prediction"], default="v_prediction")
    parser.add_argument("--weighting", choices=["v", "min-snr", "none"], default="none",
                        help="loss weight per timestep: v = the v-prediction loss's (the error of the image "
                        "estimate counts fully at high noise), min-snr = min-SNR-gamma, none = plain MSE")
    parser.add_argument("--min-snr", type=float, default=5.0)
    parser.add_argument("--high-noise", type=float, default=0.3,
                        help="share of each batch whose timestep is drawn from t >= 400 (the rest: uniform)")
    parser.add_argument("--uncond-prob", type=float, default=0.1)
    parser.add_argument("--name-prob", type=float, default=0.5, help="how often the caption is the bare name")
    parser.add_argument("--checkpoint-every", type=float, default=300, help="seconds")
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--no-eval", action="store_true")
    parser.add_argument("--guidance", type=float, default=5.0, help="CFG scale of the evaluation")
    parser.add_argument("--limit", type=int, default=0, help="train on this many entries only (trials)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.work.mkdir(parents=True, exist_ok=True)
    log("run: " + json.dumps({k: str(v) if isinstance(v, pathlib.Path) else v for k, v in vars(args).items()}))
    stopper = Stopper()
    t0 = args.t0 = time.monotonic()

    from transformers import CLIPTokenizer

    images, meta = load_dataset(args.data)
    if args.limit:  # a seeded subset, written beside the checkpoints so evaluate.py can use it
        import random

        keep = sorted(random.Random(args.seed).sample(range(len(images)), args.limit))
        images, meta["entries"] = images[keep], [dict(meta["entries"][i], index=j) for j, i in enumerate(keep)]
        args.data = args.work / "subset"
        args.data.mkdir(parents=True, exist_ok=True)
        np.save(args.data / "images.npy", images)
        (args.data / "entries.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    tokenizer = CLIPTokenizer.from_pretrained(str(args.tokenizer))
    tokenizer.model_max_length = MAX_TOKENS  # saved with the pipeline: what diffusers and the engine pad to
    log(f"{len(images)} images, {sum(len(e['captions']) for e in meta['entries'])} captions, vocabulary {len(tokenizer)}")

    vae = train_vae(args, images, stopper)
    mean, std, err = encode_all(vae, images)
    scale = 1.0 / math.sqrt(mean.var().item() + std.pow(2).mean().item())  # unit variance of the samples
    log(f"VAE reconstruction: mean abs error {err.mean():.2f} levels (worst {err.max():.1f}); latent std "
        f"{mean.std():.3f}, posterior std {std.mean():.4f} -> scaling_factor {scale:.5f}")
    t1 = time.monotonic()
    log(f"VAE stage: {(t1 - t0) / 60:.1f} min")

    text, unet = train_unet(args, tokenizer, meta["entries"], mean, std, scale, stopper)
    log(f"UNet stage: {(time.monotonic() - t1) / 60:.1f} min")
    export(args, tokenizer, text, unet, vae, scale, meta)
    import fit_preview

    fit_preview.write(args.out, args.data)  # the live preview's colours, fitted to this VAE
    log(f"training done in {(time.monotonic() - t0) / 60:.1f} min")
    if not args.no_eval:
        import evaluate

        evaluate.run(args.out, args.data, out_dir=args.out.parent / f"{args.out.name}-eval", threads=args.threads,
                     guidance=args.guidance)


if __name__ == "__main__":
    main()
