import numpy as np
import pytest

from gen_lib import run_profile


def test_full_profile_is_the_notebook_settings():
    run = run_profile(epochs=7, split="train", fd_samples=3000, env={})
    assert (run.name, run.split, run.epochs, run.subset, run.fd_samples) == (
        "full", "train", 7, None, 3000)
    assert run.overridden == ()


def test_smoke_profile_is_small_and_per_notebook_adjustable():
    run = run_profile(epochs=7, env={"GEN_LIB_PROFILE": "smoke"})
    assert run.name == "smoke" and run.epochs == 1 and run.subset == 512
    run = run_profile(epochs=7, smoke={"epochs": 2}, env={"GEN_LIB_PROFILE": "smoke"})
    assert run.epochs == 2


def test_environment_overrides_single_settings():
    env = {"GEN_LIB_SPLIT": "test", "GEN_LIB_EPOCHS": "30", "GEN_LIB_SUBSET": "0",
           "GEN_LIB_PROFILE": "smoke"}
    run = run_profile(epochs=5, env=env)
    assert (run.split, run.epochs, run.subset) == ("test", 30, None)
    assert set(run.overridden) == {"GEN_LIB_SPLIT", "GEN_LIB_EPOCHS", "GEN_LIB_SUBSET"}
    assert "GEN_LIB_EPOCHS" in run.describe(10000)


def test_the_test_split_trains_as_many_steps_as_the_train_split():
    """Epochs are passes over the 60k train split: the 10k test split gets six times as
    many in the full profile, unless GEN_LIB_EPOCHS sets them; the smoke profile keeps 1."""
    run = run_profile(epochs=7, split="test", env={})
    assert run.epochs == 42 and "6 times the 7 epoch(s)" in run.describe(10000)
    assert run_profile(epochs=7, env={"GEN_LIB_SPLIT": "test"}).epochs == 42
    assert run_profile(epochs=7, env={"GEN_LIB_SPLIT": "test", "GEN_LIB_EPOCHS": "9"}).epochs == 9
    assert run_profile(epochs=7, split="test", env={"GEN_LIB_PROFILE": "smoke"}).epochs == 1
    assert run_profile(epochs=7, split="train", env={}).epochs == 7


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ValueError, match="GEN_LIB_PROFILE='fast'.*'full', 'smoke'"):
        run_profile(epochs=1, env={"GEN_LIB_PROFILE": "fast"})


def test_unparsable_override_is_a_clear_error():
    with pytest.raises(ValueError, match="GEN_LIB_EPOCHS='ten' cannot be read as int"):
        run_profile(epochs=1, env={"GEN_LIB_EPOCHS": "ten"})
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        run_profile(epochs=1, env={"GEN_LIB_SPLIT": "valid"})
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        run_profile(epochs=1, env={"GEN_LIB_EPOCHS": "0"})


def test_seeding_makes_runs_repeatable():
    import keras

    draws = []
    for _ in range(2):
        run_profile(epochs=1, seed=3, env={})
        draws.append((np.random.rand(3), keras.ops.convert_to_numpy(
            keras.random.normal((3,)))))
    np.testing.assert_array_equal(draws[0][0], draws[1][0])
    np.testing.assert_array_equal(draws[0][1], draws[1][1])
    run_profile(epochs=1, seed=4, env={})
    assert not np.array_equal(np.random.rand(3), draws[0][0])


def test_size_is_the_full_number_or_the_smoke_one():
    full = run_profile(epochs=3, env={})
    smoke = run_profile(epochs=3, env={"GEN_LIB_PROFILE": "smoke"})
    assert full.size(400, smoke=10) == 400
    assert smoke.size(400, smoke=10) == 10
    assert smoke.size(5, smoke=10) == 5  # never more than the full run
    with pytest.raises(ValueError, match="positive whole numbers"):
        full.size(0, smoke=10)
    with pytest.raises(ValueError, match="positive whole numbers"):
        full.size(400, smoke=2.5)
