"""Fits the starter model's live-preview palette: the linear map from its 8 latent channels to RGB.

The engine previews a generation while it denoises by mapping each latent pixel linearly to a
colour, without running the VAE. Stable Diffusion's 4 channels have a well-known map; this model's
8 channels have their own, fitted here by least squares from the training images: the VAE's
latents (posterior means, times its scaling factor, as the pipeline holds them) against the images
box-averaged to latent resolution. Written to `vae/latent_preview.json`, which the engine reads when
a model ships one. train.py runs it after every export; by hand:

    .venv-parity/bin/python engine/starter/fit_preview.py [--model engine/starter/model]
"""

import argparse
import json
import pathlib

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
CACHE = pathlib.Path.home() / ".cache" / "pingvas-starter"


@torch.no_grad()
def fit(model: pathlib.Path, data: pathlib.Path) -> dict:
    from diffusers import AutoencoderKL

    import evaluate

    vae = AutoencoderKL.from_pretrained(str(model / "vae"), torch_dtype=torch.float32).eval()
    images, _ = evaluate.load_dataset(data)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    latents = torch.cat([vae.encode(x[i : i + 128]).latent_dist.mean for i in range(0, len(x), 128)])
    latents = latents * vae.config.scaling_factor
    factor = x.shape[-1] // latents.shape[-1]
    target = torch.nn.functional.avg_pool2d(x, factor)  # [N, 3, h, w], in [-1, 1] like the VAE's output
    channels = latents.shape[1]
    inputs = latents.permute(0, 2, 3, 1).reshape(-1, channels).double().numpy()
    outputs = target.permute(0, 2, 3, 1).reshape(-1, 3).double().numpy()
    design = np.concatenate([inputs, np.ones((len(inputs), 1))], axis=1)
    solution, *_ = np.linalg.lstsq(design, outputs, rcond=None)
    predicted = np.clip(design @ solution, -1, 1)
    error = float(np.abs(predicted - outputs).mean() * 127.5)
    return {
        "factors": [[round(float(v), 5) for v in row] for row in solution[:channels]],
        "bias": [round(float(v), 5) for v in solution[channels]],
        "fitted": f"least squares over {len(images)} training images at {latents.shape[-1]}x{latents.shape[-1]}: "
        f"mean error {error:.1f} levels of 255",
    }


def write(model: pathlib.Path, data: pathlib.Path) -> dict:
    palette = fit(model, data)
    path = model / "vae" / "latent_preview.json"
    rows = ",\n".join(f"    {json.dumps(row)}" for row in palette["factors"])
    text = (f'{{\n  "factors": [\n{rows}\n  ],\n  "bias": {json.dumps(palette["bias"])},\n'
            f'  "fitted": {json.dumps(palette["fitted"])}\n}}\n')
    assert json.loads(text) == palette
    path.write_text(text, encoding="utf-8")
    print(f"{path}: {palette['fitted']}", flush=True)
    return palette


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=pathlib.Path, default=HERE / "model")
    parser.add_argument("--data", type=pathlib.Path, default=CACHE / "dataset")
    args = parser.parse_args()
    torch.set_num_threads(1)
    write(args.model, args.data)


if __name__ == "__main__":
    main()
