"""FD of notebook 01's GAN under a few training recipes, every few epochs (time to quality).

Trains each recipe on the 10k MNIST test split (GEN_LIB_DATA_DIR, offline) and prints the
Fréchet distance of 5,000 samples to the real images, its ratio to the real-vs-real floor,
and how the samples spread over the ten classes. This is how notebook 01's settings were
chosen. One backend per process; the whole sweep takes about an hour on 2 CPU cores:

    GEN_LIB_DATA_DIR=../shared/data/mnist python experiments/gan_quality_sweep.py
    python experiments/gan_quality_sweep.py --recipes notebook wide --epochs 30

`--tiny` runs one recipe for a few steps, to check that the script works .
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gan_widths import GAN, LATENT_DIM  # noqa: E402  (also imports gen_lib first)

import gen_lib  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

RECIPES = {  # name -> GAN keyword arguments and batch size
    "notebook": ({}, 128),
    "dropout-0.3": ({"dropout": 0.3}, 128),
    "wide": ({"width": 2}, 128),
    "ttur+wide-D": ({"d_width": 2, "d_lr": 4e-4, "g_lr": 1e-4}, 128),
    "batch-64": ({}, 64),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--every", type=int, default=10, help="epochs between measurements")
    parser.add_argument("--tiny", action="store_true", help="a few steps, to check it runs")
    args = parser.parse_args()
    images, labels = gen_lib.load_dataset("mnist", "test")
    fd_samples, recipes = 5000, args.recipes
    if args.tiny:
        images, labels, fd_samples, recipes = images[:256], labels[:256], 64, ["notebook"]
        args.epochs = args.every = 1
    x = gen_lib.to_tanh_range(images)
    scorer = gen_lib.QualityScorer(gen_lib.tanh_to_unit(x), labels, fd_samples=fd_samples,
                                   dataset="mnist")
    noise = np.random.default_rng(1).normal(size=(scorer.fd_samples, LATENT_DIM))
    print(f"# {gen_lib.device_report()}; floor {scorer.floor:.2f} with {scorer.fd_samples} "
          "samples per set")
    print("| recipe | epochs | steps | minutes | steps/s | FD | FD / floor | samples per class |")
    print("|---|---|---|---|---|---|---|---|")
    for name in recipes:
        kwargs, batch_size = RECIPES[name]
        keras.utils.set_random_seed(42)  # every recipe starts from the same seed
        model = GAN(**kwargs)
        model.compile()
        elapsed = 0.0
        for epoch in range(args.every, args.epochs + 1, args.every):
            start = time.perf_counter()
            model.fit(x, batch_size=batch_size, epochs=args.every, verbose=0)
            elapsed += time.perf_counter() - start
            samples = gen_lib.tanh_to_unit(
                model.generator.predict(noise.astype("float32"), batch_size=500, verbose=0))
            fd = scorer.fd(samples)
            classes = np.bincount(scorer.predict_labels(samples), minlength=10).tolist()
            steps = int(model.g_optimizer.iterations)
            print(f"| {name} | {epoch} | {steps} | {elapsed / 60:.1f} | {steps / elapsed:.1f} "
                  f"| {fd:.2f} | {fd / scorer.floor:.1f} | {classes} |", flush=True)


if __name__ == "__main__":
    main()
