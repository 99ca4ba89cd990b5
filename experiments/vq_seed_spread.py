"""Notebook 05's VQ-VAE: how much does the held-out MSE move with the initial weights?

Why: the classroom rewrite of notebook 05 summed its loss per image (the paper's Eq. 3)
instead of averaging per element (the same loss up to a constant factor, with D = 16) and
moved cells, which changed the initial weights; its full run gave a held-out MSE of
0.00652 against 0.00626 before. This trains the notebook's model (benchmarks/
notebook_models.py) for 12 epochs of the 10k test split, 90% for training as in the
notebook, from three seeds, and prints each held-out MSE. Run it at two commits to
compare them:

    KERAS_BACKEND=tensorflow GEN_LIB_DATA_DIR=../shared/data/mnist python experiments/vq_seed_spread.py
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import numpy as np  # noqa: E402
import time_to_quality  # noqa: E402
from notebook_models import build  # noqa: E402

import gen_lib  # noqa: E402


def main(seeds=(1, 2, 3), epochs=12):
    images, _ = gen_lib.load_dataset("mnist", "test")
    order = np.random.default_rng(0).permutation(len(images))
    held_out, train = order[: len(images) // 10], order[len(images) // 10:]
    x, x_held_out = (gen_lib.to_unit_range(images[i]) for i in (train, held_out))
    print(f"# {gen_lib.device_report()}")
    print("| seed | held-out MSE | training s |\n|---|---|---|")
    for seed in seeds:
        model, _, batch_size = build("05 VQ-VAE", seed=seed, data_variance=float(x.var()))
        start = time.perf_counter()
        model.fit(x, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
        reconstructions = time_to_quality._reconstruct(model, x_held_out)
        mse = float(((reconstructions - x_held_out) ** 2).mean())
        print(f"| {seed} | {mse:.5f} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
