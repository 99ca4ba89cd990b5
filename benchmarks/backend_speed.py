"""Training steps per second of every notebook's model, on the current backend.

Why: the same `train_step` runs on three backends whose CPU kernels differ a lot; this
table says which backend to pick for which notebook, and what a full run costs. Each model
is the notebook's own (benchmarks/notebook_models.py), at the notebook's sizes and batch,
trained by `fit` on MNIST images; the models are timed in interleaved rounds and the
median is reported. One backend per process:

    for b in tensorflow jax torch; do
      KERAS_BACKEND=$b GEN_LIB_DATA_DIR=../shared/data/mnist python benchmarks/backend_speed.py
    done

A "step" is one call of the model's `train_step` (for the WGANs: n_critic critic updates
and one generator update). `--tiny` times two models for a few steps (CI does that).
"""

import argparse
import statistics
import time

import notebook_models
from notebook_models import MODELS, build, fit_arguments

import gen_lib


def steps_per_second(model, arguments, batch_size):
    start = time.perf_counter()
    model.fit(*arguments, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    return (len(arguments[0]) // batch_size) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="two models, a few steps")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="steps per timed fit")
    args = parser.parse_args()
    names, rounds, steps = list(MODELS), args.rounds, args.steps
    if args.tiny:
        names, rounds, steps = ["01 GAN", "04 VAE"], 1, 2
    images, labels = gen_lib.load_dataset("mnist", "test")

    runs = {}
    for name in names:
        model, _, batch_size = build(name)
        n = steps * batch_size
        arguments = fit_arguments(name, images[:n], labels[:n])
        warm_up = tuple(a[: 2 * batch_size] for a in arguments)
        model.fit(*warm_up, batch_size=batch_size, epochs=1, verbose=0)  # trace/compile
        runs[name] = (model, arguments, batch_size, [])
    for _ in range(rounds):
        for model, arguments, batch_size, speeds in runs.values():
            speeds.append(steps_per_second(model, arguments, batch_size))

    print("| backend | model | batch (images) | steps/s (median) | images/s | min-max steps/s |")
    print("|---|---|---|---|---|---|")
    backend = notebook_models.keras.backend.backend()
    for name, (_, _, batch_size, speeds) in runs.items():
        median = statistics.median(speeds)
        print(f"| {backend} | {name} | {batch_size} | {median:.2f} | {median * batch_size:,.0f} "
              f"| {min(speeds):.2f}-{max(speeds):.2f} |")
    print(f"# {gen_lib.device_report()}; {rounds} interleaved rounds of {steps} steps")


if __name__ == "__main__":
    main()
