"""Train the classifiers gen_lib ships for its quality scorer, once, and write them to
gen_lib/classifiers/<dataset>.npz with what they were trained on and their accuracy on
images they never saw; also the reference features tests/test_metrics.py compares every
backend against. Deterministic on one backend and machine.

    KERAS_BACKEND=tensorflow python scripts/train_classifiers.py \
        --mnist ../shared/data/mnist --fashion-mnist /usr/share/datasets/fashion-mnist

MNIST: only its 10k test split is available offline, so the classifier is fitted on a
random 8,000 of it and its accuracy measured on the other 2,000. Fashion-MNIST: fitted on
the 60k train split, measured on the 10k test split.
"""

import argparse
import json
from pathlib import Path

import gen_lib
import keras
import numpy as np
from gen_lib.metrics import SHIPPED, fit_classifier

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "classifier_features.npz"
EPOCHS = {"mnist": 10, "fashion_mnist": 5}
REFERENCE_IMAGES = 64  # per dataset: the first images of its held-out set


def splits(dataset, folder):
    if dataset == "mnist":
        images, labels = gen_lib.load_idx_dir(folder, "test")
        order = np.random.default_rng(0).permutation(len(images))
        fit, held = order[2000:], order[:2000]
        source = "MNIST test split (t10k), a random 8,000 (seed 0)"
        held_source = "the other 2,000 of the MNIST test split"
        return images[fit], labels[fit], images[held], labels[held], source, held_source
    x, y = gen_lib.load_idx_dir(folder, "train")
    xt, yt = gen_lib.load_idx_dir(folder, "test")
    return x, y, xt, yt, "Fashion-MNIST train split (60,000)", "Fashion-MNIST test split (10,000)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", required=True, help="folder of MNIST's idx files")
    parser.add_argument("--fashion-mnist", required=True, help="folder of Fashion-MNIST's")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    reference = {}
    for dataset, folder in (("mnist", args.mnist), ("fashion_mnist", args.fashion_mnist)):
        x, y, xt, yt, source, held_source = splits(dataset, folder)
        model = fit_classifier(gen_lib.to_unit_range(x), y, EPOCHS[dataset])
        held = gen_lib.to_unit_range(xt)
        accuracy = float((model.predict(held, verbose=0).argmax(-1) == yt).mean())
        info = {"dataset": dataset, "trained on": source, "images": len(x),
                "epochs": EPOCHS[dataset], "held out": held_source,
                "held-out accuracy": round(accuracy, 4),
                "keras": keras.__version__, "backend": keras.backend.backend()}
        SHIPPED.mkdir(exist_ok=True)
        arrays = {f"weight_{i}": w for i, w in enumerate(model.get_weights())}
        np.savez_compressed(SHIPPED / f"{dataset}.npz", info=json.dumps(info), **arrays)
        features = keras.Model(model.inputs, model.get_layer("features").output)
        images = xt[:REFERENCE_IMAGES]
        reference[f"{dataset}_images"] = images
        reference[f"{dataset}_features"] = features.predict(
            gen_lib.to_unit_range(images), verbose=0)
        print(json.dumps(info))
    REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE, **reference)


if __name__ == "__main__":
    main()
