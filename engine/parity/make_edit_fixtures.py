"""Reference numbers for image-to-image and inpainting (diffusers 0.31's
StableDiffusionImg2ImgPipeline and StableDiffusionInpaintPipeline) on the committed tiny-sd1 and
tiny-sd2 models, plus a tiny 9-channel inpainting model. Writes only new files; the fixtures that
make_fixtures.py writes are read, never rewritten:

  tests/fixtures/tiny-sd1-inpaint/    tiny-sd1's tokenizer, text encoder, VAE and scheduler with a
                                      random 9-channel UNet (widths 16 and 32, one resnet per block, float16);
  tests/fixtures/parity-edit.safetensors + parity-edit.json   the reference tensors:
    input.image [32, 32, 3] and input.mask [32, 32] (bytes as floats);
    pil.blur.<r> (Pillow's GaussianBlur of the mask), pil.resize.<w>x<h> (Pillow's Lanczos of the
    image), pil.overlay (apply_overlay of input.image over pil.generated with the blurred mask
    and a crop box), for the pure image operations;
    per case <case> (listed in the JSON with its settings): <case>.encoded.image /
    <case>.encoded.masked (the VAE sample's noise), <case>.initial (the starting noise),
    <case>.noise.<i> (Euler ancestral's noise at step i of the full schedule), <case>.latents
    (the final latents) and <case>.image (the output, HWC in [0, 1]).

    .venv-parity/bin/python engine/parity/make_edit_fixtures.py
"""

import json
import pathlib
import shutil

import numpy as np
import PIL.Image
import torch
from safetensors.torch import save_file

import make_fixtures

FIXTURES = make_fixtures.OUT
PROMPT = "a penguin wearing a tuxedo, studio lighting"
NEGATIVE = "blurry"
SIZE = 32
STEPS = 5
GUIDANCE = 7.5
SEED = 3


def inputs():
    """A smooth synthetic image and a mask with a rectangle and a disc (0/255)."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / (SIZE - 1)
    image = np.stack([x * 255, y * 255, (1 - x) * (1 - y) * 200 + 40 * np.sin(8 * x)], axis=-1)
    image[10:20, 6:14] = [230, 40, 60]
    image = np.clip(image, 0, 255).round().astype(np.uint8)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[12:22, 14:26] = 255
    mask[((y * (SIZE - 1) - 8) ** 2 + (x * (SIZE - 1) - 8) ** 2) < 12] = 255
    return PIL.Image.fromarray(image, "RGB"), PIL.Image.fromarray(mask, "L")


def build_inpaint_model(out_dir: pathlib.Path):
    from diffusers import UNet2DConditionModel

    source = FIXTURES / "tiny-sd1"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for part in ["tokenizer", "text_encoder", "vae", "scheduler"]:
        shutil.copytree(source / part, out_dir / part)
    index = json.loads((source / "model_index.json").read_text())
    index["_class_name"] = "StableDiffusionInpaintPipeline"
    (out_dir / "model_index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    torch.manual_seed(7)
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32), layers_per_block=1, sample_size=SIZE // 2, in_channels=9, out_channels=4,
        cross_attention_dim=32, norm_num_groups=2, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    )
    unet.to(torch.float16).save_pretrained(str(out_dir / "unet"), safe_serialization=True)


class Recorder:
    """Wraps diffusers' randn_tensor where the pipelines and the VAE call it, tagging each draw:
    the VAE's samples (the init image's before the starting noise, the masked image's after),
    the starting noise, and the ancestral scheduler's per-step noise."""

    def __init__(self):
        import diffusers.models.autoencoders.vae as vae
        import diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img as img2img
        import diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_inpaint as inpaint
        import diffusers.schedulers.scheduling_euler_ancestral_discrete as ancestral

        self.draws = []
        for module, tag in [(vae, "encoded"), (img2img, "initial"), (inpaint, "initial"), (ancestral, "step")]:
            original = module.randn_tensor

            def wrapped(*args, _original=original, _tag=tag, **kwargs):
                value = _original(*args, **kwargs)
                self.draws.append((_tag, value.detach().clone()))
                return value

            module.randn_tensor = wrapped

    def named(self, case: str, first_step: int) -> dict:
        out, started, step = {}, False, first_step
        for tag, value in self.draws:
            if tag == "encoded":
                out[f"{case}.encoded.{'masked' if started else 'image'}"] = value
            elif tag == "initial":
                out[f"{case}.initial"] = value
                started = True
            else:
                out[f"{case}.noise.{step}"] = value
                step += 1
        self.draws.clear()
        return out


def first_step(strength: float) -> int:
    init = min(int(STEPS * strength), STEPS)
    return max(STEPS - init, 0)


def run(pipe, recorder, case, kind, make_scheduler, **kwargs):
    # Always from the model's own scheduler config: a config read back from another scheduler
    # lists its defaults under `_use_default_values`, and from_config drops those keys, so
    # use_karras_sigmas=True would silently be lost.
    if not hasattr(pipe, "base_scheduler_config"):
        pipe.base_scheduler_config = dict(pipe.scheduler.config)
    pipe.scheduler = make_scheduler(kind, pipe.base_scheduler_config)
    latents = []
    output_type = "pil" if kwargs.get("padding_mask_crop") else "np"
    out = pipe(
        PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=GUIDANCE,
        generator=torch.Generator().manual_seed(SEED), output_type=output_type,
        callback_on_step_end=lambda _p, _i, _t, kw: (latents.append(kw["latents"].clone()), {})[1], **kwargs,
    )
    tensors = recorder.named(case, first_step(kwargs["strength"]))
    tensors[f"{case}.latents"] = latents[-1]
    image = out.images[0]
    tensors[f"{case}.image"] = torch.from_numpy(
        np.asarray(image, np.float32) / 255.0 if output_type == "pil" else np.asarray(image))
    return tensors


def main():
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline
    from diffusers.image_processor import VaeImageProcessor

    torch.set_grad_enabled(False)
    image, mask = inputs()
    tensors = {
        "input.image": torch.from_numpy(np.asarray(image, np.float32)),
        "input.mask": torch.from_numpy(np.asarray(mask, np.float32)),
    }
    # The pure image operations against Pillow.
    blurs = [1, 2.5, 4, 40]
    for r in blurs:
        tensors[f"pil.blur.{r}"] = torch.from_numpy(np.asarray(VaeImageProcessor.blur(mask, r), np.float32))
    sizes = [(48, 40), (20, 12), (32, 17)]
    for w, h in sizes:
        tensors[f"pil.resize.{w}x{h}"] = torch.from_numpy(
            np.asarray(image.resize((w, h), resample=PIL.Image.LANCZOS), np.float32))
    processor = VaeImageProcessor()
    generated = PIL.Image.fromarray(np.random.default_rng(5).integers(0, 256, (SIZE, SIZE, 3), np.uint8), "RGB")
    blurred = VaeImageProcessor.blur(mask, 2.5)
    crop = VaeImageProcessor.get_crop_region(blurred, SIZE, SIZE, pad=4)
    tensors["pil.generated"] = torch.from_numpy(np.asarray(generated, np.float32))
    tensors["pil.overlay"] = torch.from_numpy(
        np.asarray(processor.apply_overlay(blurred, image, generated, crop), np.float32))

    recorder = Recorder()
    kinds = list(make_fixtures.SCHEDULER_CLASSES)
    cases = []
    # Every scheduler on tiny-sd1; a deterministic, an ancestral and a Karras one on the
    # v-prediction tiny-sd2.
    sd2_kinds = ["ddim", "euler_a", "dpmpp_2m_karras"]
    for model, model_kinds in [("tiny-sd1", kinds), ("tiny-sd2", sd2_kinds)]:
        img2img = StableDiffusionImg2ImgPipeline.from_pretrained(str(FIXTURES / model), torch_dtype=torch.float32)
        for kind in model_kinds:
            for strength in (0.6, 1.0):
                case = f"img2img.{model}.{kind}.{strength}"
                tensors.update(run(img2img, recorder, case, kind, make_fixtures.make_scheduler, image=image,
                                   strength=strength))
                cases.append({"case": case, "mode": "img2img", "model": model, "scheduler": kind,
                              "strength": strength})

    inpaint = StableDiffusionInpaintPipeline.from_pretrained(str(FIXTURES / "tiny-sd1"), torch_dtype=torch.float32)
    build_inpaint_model(FIXTURES / "tiny-sd1-inpaint")
    inpaint9 = StableDiffusionInpaintPipeline.from_pretrained(str(FIXTURES / "tiny-sd1-inpaint"),
                                                              torch_dtype=torch.float32)
    settings = [(kind, 1.0, 0, None) for kind in kinds] + [
        ("euler_a", 0.6, 0, None), ("dpmpp_2m", 0.8, 0, None), ("ddim", 1.0, 2.5, None), ("euler", 0.8, 2.5, 4),
    ]
    inpaint2 = StableDiffusionInpaintPipeline.from_pretrained(str(FIXTURES / "tiny-sd2"), torch_dtype=torch.float32)
    sd2_settings = [(kind, 1.0, 0, None) for kind in sd2_kinds] + [("euler_a", 0.6, 2.5, None)]
    for model, pipe, model_settings in [("tiny-sd1", inpaint, settings), ("tiny-sd1-inpaint", inpaint9, settings),
                                        ("tiny-sd2", inpaint2, sd2_settings)]:
        for kind, strength, blur, pad in model_settings:
            case = f"inpaint.{model}.{kind}.{strength}.blur{blur}.pad{pad}"
            mask_image = VaeImageProcessor.blur(mask, blur) if blur else mask
            tensors.update(run(pipe, recorder, case, kind, make_fixtures.make_scheduler, image=image,
                               mask_image=mask_image, strength=strength, padding_mask_crop=pad, height=SIZE,
                               width=SIZE))
            cases.append({"case": case, "mode": "inpaint", "model": model, "scheduler": kind, "strength": strength,
                          "mask_blur": blur, "padding_mask_crop": pad})

    save_file({k: v.contiguous().float() for k, v in tensors.items()}, str(FIXTURES / "parity-edit.safetensors"))
    meta = {"prompt": PROMPT, "negative_prompt": NEGATIVE, "size": SIZE, "steps": STEPS, "guidance": GUIDANCE,
            "seed": SEED, "blurs": blurs, "sizes": sizes, "overlay": {"blur": 2.5, "pad": 4, "crop": list(crop)},
            "cases": cases}
    (FIXTURES / "parity-edit.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases, {len(tensors)} reference tensors")


if __name__ == "__main__":
    main()
