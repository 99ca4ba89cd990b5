"""Minutes to quality: each notebook's model trained as in its full run, scored as it trains.

Why: "good samples in minutes on a CPU" is a claim about a curve, not an end point. Each
model is the notebook's own (benchmarks/notebook_models.py), trained with the notebook's
settings on the 10k MNIST test split for the epochs its full run uses there
(GEN_LIB_DATA_DIR, offline). Every few epochs training pauses and the script measures the
FD of 5,000 samples against the real images (and its ratio to the real-vs-real floor), the
class accuracy of samples for 02, and the held-out reconstruction MSE for 05 (whose
samples need the prior trained afterwards). Minutes count training only.

    GEN_LIB_DATA_DIR=../shared/data/mnist python benchmarks/time_to_quality.py
    KERAS_BACKEND=jax ... python benchmarks/time_to_quality.py --models "01 GAN"

`--tiny` trains 01 and 04 (or `--models`) for a few steps, to check that the script works
(CI does that).
"""

import argparse
import time

import numpy as np
from notebook_models import MODELS, build, fit_arguments, latent_dim, samples

import gen_lib

# Epochs of the 10k split that each notebook's full run uses (the README's commands), and
# how often to measure. 04, 05 and 06 train on 90% of the split, as their notebooks do.
EPOCHS = {"01 GAN": (40, 5), "02 CGAN": (30, 5), "03 WGAN clip": (24, 4),
          "03 WGAN-GP": (24, 4), "04 VAE": (48, 8), "05 VQ-VAE": (12, 2),
          "06 VAE-GAN": (12, 2)}
HELD_OUT = {"04 VAE", "05 VQ-VAE", "06 VAE-GAN"}
TARGETS = {"01 GAN": "FD <= 5x floor", "02 CGAN": "class accuracy >= 0.90"}


def reached(name, fd_ratio, extra):
    if name == "01 GAN":
        return fd_ratio <= 5.0
    if name == "02 CGAN":
        return extra >= 0.90
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), help="default: all")
    parser.add_argument("--tiny", action="store_true", help="two models, a few steps")
    args = parser.parse_args()
    images, labels = gen_lib.load_dataset("mnist", "test")
    names, fd_samples, epochs = args.models or list(MODELS), 5000, dict(EPOCHS)
    if args.tiny:
        names = args.models or ["01 GAN", "04 VAE"]
        images, labels, fd_samples = images[:600], labels[:600], 100
        epochs = {name: (1, 1) for name in names}
    scorer = gen_lib.QualityScorer(gen_lib.to_unit_range(images), labels, fd_samples=fd_samples,
                                   dataset="mnist")
    rng = np.random.default_rng(1)
    eval_labels = np.arange(scorer.fd_samples) % 10  # balanced classes, for 02
    order = np.random.default_rng(0).permutation(len(images))
    held_out, train = order[: len(images) // 10], order[len(images) // 10:]

    print(f"# {gen_lib.device_report()}; FD floor {scorer.floor:.2f} "
          f"({scorer.fd_samples} samples per set)")
    print("| model | epoch | steps | training min | FD | FD / floor | other |")
    print("|---|---|---|---|---|---|---|")
    summary = []
    for name in names:
        subset = train if name in HELD_OUT else order
        options = ({"data_variance": float(gen_lib.to_unit_range(images[subset]).var())}
                   if name == "05 VQ-VAE" else {})  # 05 scales its loss by the data's variance
        model, _, batch_size = build(name, **options)
        arguments = fit_arguments(name, images[subset], labels[subset])
        held_out_images = gen_lib.to_unit_range(images[held_out])
        noise = (rng.normal(size=(scorer.fd_samples, latent_dim(name))).astype("float32")
                 if latent_dim(name) else None)
        total, every = epochs[name]
        seconds, first_reached, history = 0.0, None, []
        for epoch in range(every, total + 1, every):
            start = time.perf_counter()
            model.fit(*arguments, batch_size=batch_size, epochs=every, shuffle=True, verbose=0)
            seconds += time.perf_counter() - start
            steps = _steps(model)
            fd = ratio = extra = None
            if noise is not None:
                generated = samples(name, model, noise, eval_labels)
                fd = scorer.fd(generated)
                ratio = fd / scorer.floor
                if name == "02 CGAN":
                    extra = scorer.accuracy(generated, eval_labels)
            else:
                reconstructions = _reconstruct(model, held_out_images)
                extra = float(((reconstructions - held_out_images) ** 2).mean())
            other = ("" if extra is None else
                     f"class accuracy {extra:.3f}" if name == "02 CGAN" else
                     f"held-out MSE {extra:.5f}")
            print(f"| {name} | {epoch} | {steps:,} | {seconds / 60:.1f} | "
                  f"{'' if fd is None else f'{fd:.2f}'} | "
                  f"{'' if ratio is None else f'{ratio:.1f}x'} | {other} |", flush=True)
            history.append((seconds, fd if fd is not None else extra))
            if first_reached is None and reached(name, ratio or np.inf, extra or 0.0):
                first_reached = seconds / 60
        final = history[-1][1]
        near = next(s for s, q in history if q <= 1.1 * final) / 60
        summary.append((name, TARGETS.get(name, ""), first_reached, seconds / 60, near))

    print("\n| model | target | minutes to target | minutes in all | minutes to within 10% of "
          "the final number |")
    print("|---|---|---|---|---|")
    for name, target, first, minutes, near in summary:
        hit = "" if not target else (f"{first:.1f}" if first is not None else "not reached")
        print(f"| {name} | {target} | {hit} | {minutes:.1f} | {near:.1f} |")


def _steps(model):
    """Generator (or only) optimizer steps taken so far."""
    for attribute in ("g_optimizer", "decoder_optimizer", "vae_optimizer", "vq_optimizer"):
        optimizer = getattr(model, attribute, None)
        if optimizer is not None:
            return int(optimizer.iterations)
    raise AttributeError(f"{type(model).__name__} has no optimizer to count steps of")


def _reconstruct(model, images):
    """05's VQ-VAE: encoder -> nearest codes -> decoder, in inference mode."""
    from keras import ops

    outputs = []
    for i in range(0, len(images), 500):
        z = model.encoder(images[i:i + 500])
        codes = model.quantizer.nearest_codes(z)
        outputs.append(ops.convert_to_numpy(model.decoder(model.quantizer.lookup(codes))))
    return np.clip(np.concatenate(outputs), 0.0, 1.0)


if __name__ == "__main__":
    main()
