"""Notebook 05's VQ-VAE: where the codebook starts, and Adam's learning rate.

Why: Adam moves each codebook entry by about the learning rate per step whatever its
gradient, so codes that start near the origin trail behind the encoder's outputs. This
trains notebook 05's model (benchmarks/notebook_models.py, as of commit f738e2f) from the
same seed in three ways and prints the held-out reconstruction MSE every few epochs:

- "origin, 1e-3": codes near the origin, every code counted as alive at the start (the
  notebook before the change), Adam(1e-3);
- "data, 1e-3": usage starts at zero, so the first step re-seeds every unchosen code
  onto an encoder output (the notebook), Adam(1e-3);
- "data, 2e-3": the same with the notebook's Adam(2e-3).

    KERAS_BACKEND=jax GEN_LIB_DATA_DIR=../shared/data/mnist python experiments/vq_codebook_start.py

The 10k test split, 90% for training as in the notebook, 12 epochs (its full run there).
`--tiny` trains a few steps on 600 images.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from notebook_models import build  # noqa: E402

import gen_lib  # noqa: E402

RECIPES = [("origin, 1e-3", False, 1e-3), ("data, 1e-3", True, 1e-3),
           ("data, 2e-3", True, 2e-3)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a few steps on 600 images")
    args = parser.parse_args()
    images, _ = gen_lib.load_dataset("mnist", "test")
    epochs, every = (1, 1) if args.tiny else (12, 3)
    if args.tiny:
        images = images[:600]
    order = np.random.default_rng(0).permutation(len(images))
    held_out = gen_lib.to_unit_range(images[order[: len(images) // 10]])
    train = gen_lib.to_unit_range(images[order[len(images) // 10:]])

    print(f"# {gen_lib.device_report()}")
    print("| codebook start, learning rate | epoch | steps | minutes | held-out MSE | "
          "perplexity (epoch mean) |")
    print("|---|---|---|---|---|---|")
    for name, data_start, learning_rate in RECIPES:
        model, ns, batch_size = build("05 VQ-VAE", data_variance=float(train.var()))
        model.compile(keras.optimizers.Adam(learning_rate))
        if not data_start:  # every code alive at the start: no re-seeding on the first step
            model.quantizer.usage.assign(np.full(ns["NUM_CODES"], 1 / ns["NUM_CODES"],
                                                 "float32"))
        seconds = 0.0
        for epoch in range(every, epochs + 1, every):
            start = time.perf_counter()
            history = model.fit(train, batch_size=batch_size, epochs=every, verbose=0)
            seconds += time.perf_counter() - start
            reconstructions = np.clip(keras.ops.convert_to_numpy(model(held_out)), 0, 1)
            mse = float(((reconstructions - held_out) ** 2).mean())
            print(f"| {name} | {epoch} | {int(model.vq_optimizer.iterations):,} | "
                  f"{seconds / 60:.1f} | {mse:.5f} | "
                  f"{history.history['perplexity'][-1]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
