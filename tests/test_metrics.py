from pathlib import Path

import keras
import numpy as np
import pytest

import gen_lib
from gen_lib.metrics import check_images, frechet_distance, shipped_classifier


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # same covariance, shifted mean: the distance is the squared shift
    assert frechet_distance(a, a + [1.0, 2.0, 0.0]) == pytest.approx(5.0, rel=1e-6)
    # N(0, I) vs N(0, 4I) in d dims: d * (1 + 4 - 2*2) = d, up to sampling noise
    b = rng.normal(size=(4000, 3)) * 2.0
    assert frechet_distance(a, b) == pytest.approx(3.0, rel=0.1)


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


@pytest.mark.parametrize("bad, error, message", [
    (np.zeros((4, 28, 28)), ValueError, "shape \\(N, 28, 28, 1\\)"),
    (np.zeros((4, 28, 28, 3)), ValueError, "shape \\(N, 28, 28, 1\\)"),
    (np.zeros((4, 28, 28, 1), dtype=np.uint8), TypeError, "to_unit_range"),
    (-np.ones((4, 28, 28, 1), dtype=np.float32), ValueError, "tanh_to_unit"),
    (np.full((4, 28, 28, 1), np.nan, dtype=np.float32), ValueError, "NaN"),
])
def test_check_images_explains_the_fix(bad, error, message):
    """A wrong dtype is a TypeError everywhere in gen_lib (as in the loaders' scaling
    helpers); a wrong shape or range is a ValueError."""
    with pytest.raises(error, match=message):
        check_images(bad)


# MNIST's test split is ordered by writer population: draw random disjoint subsets.
SCORER_IDS, UNSEEN_IDS = np.split(np.random.default_rng(1).permutation(10000)[:3500], [3000])


@pytest.fixture(scope="module")
def scorer(real_mnist, tmp_path_factory):
    x, y = real_mnist
    return gen_lib.QualityScorer(gen_lib.to_unit_range(x[SCORER_IDS]), y[SCORER_IDS],
                                 fd_samples=500, cache_dir=tmp_path_factory.mktemp("clf"))


def test_floor_small_noise_large_and_stable(scorer, real_mnist):
    x, _ = real_mnist
    noise = np.random.default_rng(0).uniform(size=(500, 28, 28, 1)).astype("float32")
    fd_noise = scorer.fd(noise)
    fd_real = scorer.fd(gen_lib.to_unit_range(x[UNSEEN_IDS]))  # real digits it never saw
    assert scorer.floor < fd_noise / 20
    assert fd_real < 2 * scorer.floor
    assert scorer.fd(noise) == fd_noise  # stable across calls
    assert scorer.real_accuracy > 0.9


def test_classifier_is_cached(scorer, real_mnist, tmp_path):
    x, y = real_mnist
    cached = list(scorer_cache_dir(scorer).glob("classifier-*.weights.h5"))
    assert len(cached) == 1
    again = gen_lib.QualityScorer(gen_lib.to_unit_range(x[SCORER_IDS]), y[SCORER_IDS],
                                  fd_samples=500, cache_dir=scorer_cache_dir(scorer))
    assert again.floor == pytest.approx(scorer.floor, rel=1e-5)


def test_a_damaged_cache_entry_is_rebuilt_not_fatal(scorer, real_mnist, capsys):
    """A cache file cut short (an interrupted save, a full disk) must not stop every later
    run: the scorer says so in one line, trains the classifier again and rewrites it."""
    x, y = real_mnist
    path = scorer.cache_path
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 3])
    again = gen_lib.QualityScorer(gen_lib.to_unit_range(x[SCORER_IDS]), y[SCORER_IDS],
                                  fd_samples=500, cache_dir=scorer_cache_dir(scorer))
    message = capsys.readouterr().out
    assert "could not be read" in message and "training it again" in message
    assert again.floor == pytest.approx(scorer.floor, rel=1e-4)
    assert path.stat().st_size == len(whole)  # rewritten whole
    assert not list(path.parent.glob(".*partial*"))  # no temporary file left behind


def scorer_cache_dir(scorer):
    return scorer.cache_path.parent


def test_class_mix_fd_grows_with_the_imbalance(scorer):
    true_mix = np.bincount(scorer.labels, minlength=10)
    balanced = scorer.class_mix_fd(true_mix)
    skewed = scorer.class_mix_fd(true_mix * np.where(np.arange(10) < 5, 3, 1))
    one_class = scorer.class_mix_fd(np.eye(10)[3])
    assert balanced < 2 * scorer.floor  # real images in real proportions: near the floor
    assert balanced < skewed < one_class
    assert one_class > 20 * scorer.floor
    assert scorer.class_mix_fd(true_mix) == balanced  # seeded: stable across calls


@pytest.mark.parametrize("counts", [[1] * 9, [0] * 10, [-1] + [1] * 9])
def test_class_mix_fd_refuses_bad_counts(scorer, counts):
    with pytest.raises(ValueError, match="class_counts must be 10 non-negative counts"):
        scorer.class_mix_fd(counts)


def test_fd_needs_as_many_samples_as_the_floor(scorer):
    with pytest.raises(ValueError, match="at least fd_samples=500"):
        scorer.fd(np.zeros((100, 28, 28, 1), "float32"))


REFERENCE = Path(__file__).parent / "data" / "classifier_features.npz"


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_shipped_classifier_gives_the_same_features_on_every_backend(dataset):
    """The measuring instrument is the same everywhere: the shipped weights give, on this
    backend, the features scripts/train_classifiers.py recorded (on tensorflow) for the same
    images, to float32 tolerance. A classifier trained per backend differs far more."""
    reference = np.load(REFERENCE)
    images = gen_lib.to_unit_range(reference[f"{dataset}_images"])
    model, info = shipped_classifier(dataset)
    features = keras.Model(model.inputs, model.get_layer("features").output)
    got = features.predict(images, verbose=0)
    expected = reference[f"{dataset}_features"]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * expected.max())
    assert info["dataset"] == dataset and 0.85 < info["held-out accuracy"] <= 1


def test_scorer_with_a_shipped_classifier_reports_its_held_out_accuracy(real_mnist):
    x, y = real_mnist
    scorer = gen_lib.QualityScorer(gen_lib.to_unit_range(x[SCORER_IDS]), y[SCORER_IDS],
                                   fd_samples=500, dataset="mnist")
    assert scorer.cache_path is None and scorer.real_accuracy == 0.973
    # near the floor for real digits, far from it for noise, as with a trained one
    noise = np.random.default_rng(0).uniform(size=(500, 28, 28, 1)).astype("float32")
    assert scorer.fd(gen_lib.to_unit_range(x[UNSEEN_IDS])) < 2 * scorer.floor
    assert scorer.fd(noise) > 20 * scorer.floor


def test_an_unknown_dataset_has_no_shipped_classifier():
    with pytest.raises(ValueError, match="ships no classifier for dataset 'cifar10'.*dataset=None"):
        shipped_classifier("cifar10")
