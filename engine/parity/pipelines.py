"""Tiny Stable Diffusion pipelines for the engine's parity tests, built the way diffusers' own test
suite builds its dummy components (UNet block_out_channels (32, 64), a 5-layer CLIP of width 32, a
two-block VAE of width (16, 32)), with random weights from a fixed seed, saved in diffusers layout, and the
reference numbers diffusers computes with them.

SD1-style: epsilon prediction, conv projections in the transformer blocks, 8 heads everywhere,
quick-GELU CLIP, `<|endoftext|>` padding. SD2-style: v-prediction, linear projections, a head count
per block (2, 4), GELU CLIP, `!` padding. Weights are stored in float16 (the engine casts them),
except SD1's text encoder and VAE, which stay float32, so both paths are covered; the VAE is
narrower than diffusers' test VAE (16, 32) to keep the committed files small.

Each `<variant>.safetensors` beside the model holds, in float32:
  token_ids [2, 77] (negative prompt, prompt) and text_embeddings [2, 77, C];
  unet.sample / unet.timestep / unet.encoder_hidden_states -> unet.out (one raw UNet call);
  vae.latents -> vae.decoded (the decoder's raw output); vae.image -> vae.mean, vae.logvar;
  latents.init (the standard-normal starting noise) and, per scheduler s and step i:
  s.timesteps, s.unet_out.i (the raw, batched [uncond, cond] prediction), s.latents.i (after the
  step), s.noise.i (Euler ancestral's fresh noise) and s.image (the pipeline's output, HWC in [0, 1]);
  unguided.ddim.image: DDIM at guidance 1 (no negative prompt, no unconditional pass).
"""

import json
import pathlib

import torch
from safetensors.torch import save_file

PROMPT = "a penguin wearing a tuxedo, studio lighting"
NEGATIVE = "blurry"
SIZE = 32
STEPS = 4
SEED = 0

VARIANTS = {
    "sd1": {
        "unet": dict(down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                     up_block_types=("CrossAttnUpBlock2D", "UpBlock2D")),
        "clip_act": "quick_gelu",
        "pad": "<|endoftext|>",
        "prediction": "epsilon",
        "dtype": {"unet": torch.float16, "text_encoder": torch.float32, "vae": torch.float32},
        "guidance": 7.5,
    },
    "sd2": {
        "unet": dict(down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                     up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                     attention_head_dim=(2, 4), use_linear_projection=True, upcast_attention=True),
        "clip_act": "gelu",
        "pad": "!",
        "prediction": "v_prediction",
        "dtype": {"unet": torch.float16, "text_encoder": torch.float16, "vae": torch.float16},
        "guidance": 5.0,
    },
}


def build(variant: str, tokenizer_dir: pathlib.Path, out_dir: pathlib.Path):
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    spec = VARIANTS[variant]
    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=SIZE // 2, in_channels=4, out_channels=4,
        cross_attention_dim=32, norm_num_groups=2, **spec["unet"],
    )
    torch.manual_seed(SEED)
    vae = AutoencoderKL(
        block_out_channels=[16, 32], in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=2,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], sample_size=SIZE,
    )
    tokenizer = CLIPTokenizer(str(tokenizer_dir / "vocab.json"), str(tokenizer_dir / "merges.txt"), pad_token=spec["pad"])
    tokenizer.model_max_length = 77
    torch.manual_seed(SEED)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        hidden_size=32, intermediate_size=37, layer_norm_eps=1e-5, num_attention_heads=4, num_hidden_layers=5,
        vocab_size=1000, hidden_act=spec["clip_act"],
    ))
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False,
        steps_offset=1, prediction_type=spec["prediction"], timestep_spacing="leading",
    )
    pipe = StableDiffusionPipeline(
        unet=unet.to(spec["dtype"]["unet"]), vae=vae.to(spec["dtype"]["vae"]),
        text_encoder=text_encoder.to(spec["dtype"]["text_encoder"]), tokenizer=tokenizer, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(str(out_dir), safe_serialization=True)
    # The reference runs on what was saved (float16 weights included), in float32.
    return StableDiffusionPipeline.from_pretrained(str(out_dir), torch_dtype=torch.float32)


def reference(variant: str, pipe, scheduler_kinds: dict, make_scheduler) -> dict:
    spec = VARIANTS[variant]
    tensors = {}
    tok = pipe.tokenizer
    ids = [tok(p, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids for p in (NEGATIVE, PROMPT)]
    ids = torch.cat(ids)
    with torch.no_grad():
        embeddings = pipe.text_encoder(ids)[0]
    tensors["token_ids"] = ids.float()
    tensors["text_embeddings"] = embeddings

    generator = torch.Generator().manual_seed(SEED)
    latent = SIZE // pipe.vae_scale_factor
    init = torch.randn((1, 4, latent, latent), generator=generator)
    tensors["latents.init"] = init

    with torch.no_grad():
        sample = torch.randn((2, 4, latent, latent), generator=generator)
        tensors["unet.sample"], tensors["unet.timestep"] = sample, torch.tensor([401.5])
        tensors["unet.encoder_hidden_states"] = embeddings.clone()
        tensors["unet.out"] = pipe.unet(sample, 401.5, encoder_hidden_states=embeddings).sample
        vae_latents = torch.randn((1, 4, latent, latent), generator=generator)
        tensors["vae.latents"], tensors["vae.decoded"] = vae_latents, pipe.vae.decode(vae_latents).sample
        image = torch.rand((1, 3, SIZE, SIZE), generator=generator) * 2 - 1
        posterior = pipe.vae.encode(image).latent_dist
        tensors["vae.image"], tensors["vae.mean"], tensors["vae.logvar"] = image, posterior.mean, posterior.logvar

    base_config = dict(pipe.scheduler.config)
    # Guidance 1: diffusers skips the unconditional pass; so must we.
    pipe.scheduler = make_scheduler("ddim", base_config)
    out = pipe(PROMPT, height=SIZE, width=SIZE, num_inference_steps=STEPS, guidance_scale=1.0, latents=init.clone(),
               output_type="np")
    tensors["unguided.ddim.image"] = torch.from_numpy(out.images)
    for kind in scheduler_kinds:
        pipe.scheduler = make_scheduler(kind, base_config)
        unet_outs, noises = [], []
        hook = pipe.unet.register_forward_hook(lambda _m, _i, out: unet_outs.append(out[0].detach().clone()))
        step = pipe.scheduler.step

        def recording_step(*args, generator=None, **kwargs):
            if generator is not None:
                replay = torch.Generator().set_state(generator.get_state())
                noises.append(torch.randn(args[0].shape, generator=replay, dtype=args[0].dtype))
            return step(*args, generator=generator, **kwargs)

        pipe.scheduler.step = recording_step
        latents_after = []
        out = pipe(
            PROMPT, negative_prompt=NEGATIVE, height=SIZE, width=SIZE, num_inference_steps=STEPS,
            guidance_scale=spec["guidance"], latents=init.clone(), generator=torch.Generator().manual_seed(SEED + 1),
            output_type="np",
            callback_on_step_end=lambda _p, _i, _t, kw: (latents_after.append(kw["latents"].clone()), {})[1],
        )
        hook.remove()
        tensors[f"{kind}.timesteps"] = pipe.scheduler.timesteps.float()
        for i in range(STEPS):
            tensors[f"{kind}.unet_out.{i}"] = unet_outs[i]
            tensors[f"{kind}.latents.{i}"] = latents_after[i]
            if noises:
                tensors[f"{kind}.noise.{i}"] = noises[i]
        tensors[f"{kind}.image"] = torch.from_numpy(out.images)
    return {name: t.contiguous().float() for name, t in tensors.items()}


def write(variant: str, tokenizer_dir: pathlib.Path, fixtures: pathlib.Path, scheduler_kinds, make_scheduler):
    out_dir = fixtures / f"tiny-{variant}"
    pipe = build(variant, tokenizer_dir, out_dir)
    tensors = reference(variant, pipe, scheduler_kinds, make_scheduler)
    save_file(tensors, str(fixtures / f"parity-{variant}.safetensors"))
    spec = VARIANTS[variant]
    meta = {"prompt": PROMPT, "negative_prompt": NEGATIVE, "size": SIZE, "steps": STEPS,
            "guidance": spec["guidance"], "schedulers": list(scheduler_kinds)}
    (fixtures / f"parity-{variant}.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    print(f"tiny-{variant}: {sum(p.numel() for p in pipe.unet.parameters())} UNet parameters, "
          f"{len(tensors)} reference tensors")
