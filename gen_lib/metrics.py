"""Sample quality: Fréchet distance in the feature space of a small MNIST classifier.

This is FID (Heusel et al. 2017) with the Inception network swapped for a small
classifier of the dataset's own images, so it runs in seconds on a CPU and offline. Its
numbers are not comparable with published FIDs; what makes them meaningful is the
floor, the same distance between two disjoint sets of real images of the same size: no
model can be expected to beat it, and a model whose samples come close to it produces
digits that the classifier cannot tell apart from real ones, on average.

For MNIST and Fashion-MNIST the classifier's weights ship with gen_lib
(`classifiers/<dataset>.npz`, made by scripts/train_classifiers.py), so an FD means the
same thing on every backend and machine. Other images get a classifier trained on first
use, cached on disk; its FDs compare only with FDs measured by the same cached weights.
"""

import hashlib
import json
import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

CACHE_ENV = "GEN_LIB_CACHE_DIR"
CLASSIFIER_VERSION = 1  # bump when the architecture or its training changes
IMAGE_SHAPE = (28, 28, 1)
SHIPPED = Path(__file__).resolve().parent / "classifiers"  # <dataset>.npz: weights + info


def frechet_distance(features_a, features_b):
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between two feature sets."""
    a, b = np.asarray(features_a, "float64"), np.asarray(features_b, "float64")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"Expected two (n, d) feature arrays with the same d, got {a.shape} and {b.shape}."
        )
    if min(len(a), len(b)) < 2:
        raise ValueError("Each feature set needs at least 2 rows to estimate a covariance.")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((S_a S_b)^(1/2)) = sum of sqrt(eigenvalues of S_a^(1/2) S_b S_a^(1/2)), which is
    # symmetric positive semi-definite, so eigh is stable where a general sqrtm is not.
    root_a = _sqrt_psd(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    distance = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    return float(max(distance, 0.0))


def check_images(images, name="images"):
    """Say how to fix images that are not float (N, 28, 28, 1) in [0, 1]: a TypeError for
    the dtype, a ValueError for the shape or the range, as everywhere in gen_lib."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"{name} must have shape (N, 28, 28, 1), got {images.shape}. "
            "Add a channel axis with images[..., None] if it is missing."
        )
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(
            f"{name} must be float in [0, 1], got dtype {images.dtype}: "
            "use gen_lib.to_unit_range(uint8_images)."
        )
    lo, hi = float(images.min()), float(images.max())
    if not np.isfinite([lo, hi]).all():
        raise ValueError(f"{name} contain NaN or infinite values.")
    if lo < -1e-3 or hi > 1 + 1e-3:
        hint = " They look like tanh outputs: use gen_lib.tanh_to_unit(x)." if lo < 0 else ""
        raise ValueError(f"{name} must lie in [0, 1], got values in [{lo:.3f}, {hi:.3f}].{hint}")
    return images.astype("float32")


class QualityScorer:
    """Scores generated images against real ones in a classifier's feature space.

    `real_images`: float (N, 28, 28, 1) in [0, 1]; `labels`: (N,) ints. `dataset`:
    "mnist" or "fashion_mnist" uses the classifier shipped with gen_lib, the same weights
    on every backend; None trains one on a random nine tenths of the real images (the
    last tenth measures its accuracy), once per dataset and backend, cached on disk
    (GEN_LIB_CACHE_DIR, default ~/.cache/gen_lib). `real_accuracy` is the classifier's
    accuracy on real images it never saw.
    """

    def __init__(self, real_images, labels, fd_samples=5000, dataset=None, epochs=5,
                 cache_dir=None):
        self.real_images = check_images(real_images, "real_images")
        self.labels = np.asarray(labels).astype("int64")
        if self.labels.shape != (len(self.real_images),):
            raise ValueError(
                f"labels must have shape ({len(self.real_images)},), got {self.labels.shape}."
            )
        n = len(self.real_images)
        self.fd_samples = min(fd_samples, n // 2)
        if self.fd_samples < 10:
            raise ValueError(f"Need at least 20 real images to score against, got {n}.")
        # Random, disjoint subsets: dataset files are often ordered (MNIST's test split puts
        # two different writer populations in its two halves), so slices would be biased.
        order = np.random.default_rng(0).permutation(n)
        if dataset is None:
            held_out, fit_on = order[: max(n // 10, 1)], order[max(n // 10, 1):]
            self.classifier, self.cache_path = _trained_classifier(
                self.real_images[fit_on], self.labels[fit_on], epochs, cache_dir
            )
            self.classifier_info = {"trained on": f"{len(fit_on)} of the real images given"}
        else:
            self.classifier, self.classifier_info = shipped_classifier(dataset)
            self.cache_path = None
        self.features_model = keras.Model(
            self.classifier.inputs, self.classifier.get_layer("features").output
        )
        if dataset is None:
            self.real_accuracy = self.accuracy(self.real_images[held_out], self.labels[held_out])
        else:  # measured once, on the held-out images named in the info
            self.real_accuracy = self.classifier_info["held-out accuracy"]
        half = self.fd_samples
        self._reference = self.features(self.real_images[order[:half]])
        self._others = order[half:]  # real images outside the reference set
        self.floor = frechet_distance(
            self._reference, self.features(self.real_images[order[half:2 * half]])
        )

    def features(self, images):
        images = check_images(images)
        return self.features_model.predict(images, batch_size=500, verbose=0)

    def predict_labels(self, images):
        images = check_images(images)
        return self.classifier.predict(images, batch_size=500, verbose=0).argmax(-1)

    def accuracy(self, images, labels):
        return float((self.predict_labels(images) == np.asarray(labels)).mean())

    def fd(self, generated):
        """Fréchet distance of `generated` (in [0, 1]) to the real reference set."""
        generated = check_images(generated, "generated")
        if len(generated) < self.fd_samples:
            raise ValueError(
                f"Pass at least fd_samples={self.fd_samples} generated images, got "
                f"{len(generated)}: the distance is biased by the sample size, so both "
                "sides and the floor must use the same number."
            )
        return frechet_distance(self._reference, self.features(generated[: self.fd_samples]))

    def class_mix_fd(self, class_counts, seed=0):
        """FD of real images drawn in the proportions `class_counts` (one count per class).

        Why: an unconditional generator may draw some digits more often than others (mode
        dropping), and that alone raises its FD, however good each image is. Real images
        from outside the reference set, re-drawn (with replacement) in the generated
        samples' class proportions, say what that class mix alone costs. FD is not a sum
        of parts: the samples' FD minus this one is not "the cost of the images".
        """
        counts = np.asarray(class_counts, dtype="float64")
        num_classes = int(self.labels.max()) + 1
        if counts.shape != (num_classes,) or counts.min() < 0 or counts.sum() <= 0:
            raise ValueError(
                f"class_counts must be {num_classes} non-negative counts, not all zero, got "
                f"{np.asarray(class_counts).tolist()}. Use np.bincount(scorer.predict_labels("
                f"images), minlength={num_classes})."
            )
        rng = np.random.default_rng(seed)
        drawn = rng.choice(num_classes, size=self.fd_samples, p=counts / counts.sum())
        pool = self._others
        chosen = []
        for c in range(num_classes):
            of_class = pool[self.labels[pool] == c]
            wanted = int((drawn == c).sum())
            if wanted and not len(of_class):
                raise ValueError(f"No real image of class {c} outside the reference set.")
            chosen.append(rng.choice(of_class, size=wanted) if wanted else of_class[:0])
        return self.fd(self.real_images[np.concatenate(chosen)])


def make_classifier():
    """A small convnet; its 128-d 'features' layer is the space the FD is measured in."""
    init = keras.initializers.GlorotUniform
    inputs = keras.Input(IMAGE_SHAPE)
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu",
                      kernel_initializer=init(seed=1))(inputs)
    h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu",
                      kernel_initializer=init(seed=2))(h)
    h = layers.Flatten()(h)
    h = layers.Dense(128, activation="relu", kernel_initializer=init(seed=3), name="features")(h)
    outputs = layers.Dense(10, kernel_initializer=init(seed=4))(h)
    return keras.Model(inputs, outputs, name="mnist_classifier")


def shipped_classifier(dataset):
    """The classifier gen_lib ships for `dataset`, and what it was trained on (a dict).

    Why shipped: a classifier trained on first use differs by backend and machine, and
    so would every FD measured with it. The weights are plain arrays, set in the same
    order on every backend.
    """
    path = SHIPPED / f"{dataset}.npz"
    if not path.is_file():
        available = sorted(p.stem for p in SHIPPED.glob("*.npz"))
        raise ValueError(
            f"gen_lib ships no classifier for dataset {dataset!r}: it has {available}. "
            "Pass dataset=None to train one on the real images (cached on disk)."
        )
    with np.load(path) as stored:
        info = json.loads(str(stored["info"]))
        weights = [stored[f"weight_{i}"] for i in range(len(stored.files) - 1)]
    model = make_classifier()
    shapes = [tuple(w.shape) for w in model.weights]
    if [w.shape for w in weights] != shapes:
        raise ValueError(
            f"{path} holds weights of shapes {[w.shape for w in weights]}, but the classifier "
            f"has {shapes}: the file is from another version of gen_lib; reinstall gen_lib."
        )
    model.set_weights(weights)
    return model, info


def _trained_classifier(images, labels, epochs, cache_dir):
    key = hashlib.sha256()
    for part in (images.tobytes(), labels.tobytes(),
                 f"{keras.backend.backend()}-{epochs}-v{CLASSIFIER_VERSION}".encode()):
        key.update(part)
    folder = Path(cache_dir or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gen_lib")
    path = folder / f"classifier-{key.hexdigest()[:16]}.weights.h5"
    if path.is_file():
        model = make_classifier()
        try:
            model.load_weights(path)
            return model, path
        except Exception as e:  # cut short by an interrupted save, a full disk, a sync
            print(f"gen_lib: the cached classifier {path} could not be read "
                  f"({type(e).__name__}); training it again.")
    model = fit_classifier(images, labels, epochs)
    _save_atomically(model, path)
    return model, path


def fit_classifier(images, labels, epochs):
    """A fresh classifier trained on `images` (float in [0, 1]) with its own shuffling
    generator, so a notebook's seeds are untouched."""
    model = make_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    order = np.random.default_rng(0)
    for _ in range(epochs):
        perm = order.permutation(len(images))
        model.fit(images[perm], labels[perm], batch_size=128, epochs=1, shuffle=False,
                  verbose=0)
    return model


def _save_atomically(model, path):
    """Write the weights next to `path`, then rename: a reader sees the whole file or none,
    however the writer is interrupted (the rename is atomic on one file system)."""
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.weights.h5")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save_weights(partial)
        os.replace(partial, path)
    except OSError as e:  # a read-only home: keep going, just without the cache
        print(f"gen_lib: could not cache the classifier in {path.parent} ({e}); "
              f"set {CACHE_ENV} to a writable folder.")
    finally:
        partial.unlink(missing_ok=True)


def _sqrt_psd(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
