import keras
import numpy as np
import pytest

import gen_lib


def test_image_grid_layout_and_range_check():
    images = np.random.default_rng(0).uniform(size=(10, 28, 28, 1))
    fig = gen_lib.image_grid(images, ncols=5, title="t")
    assert len(fig.axes) == 10
    with pytest.raises(ValueError, match="tanh_to_unit"):
        gen_lib.image_grid(images * 2 - 1)
    with pytest.raises(ValueError, match="\\(N, H, W, 1\\|3\\)"):
        gen_lib.image_grid(np.zeros((2, 28, 28, 2)))


def test_plot_history():
    fig = gen_lib.plot_history({"d_loss": [1.0, 0.8], "g_loss": [2.0, 1.5]})
    assert [line.get_label() for line in fig.axes[0].lines] == ["d_loss", "g_loss"]


def test_sample_grid_saves_each_epoch(tmp_path):
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    calls = []

    def sample(noise):
        calls.append(noise)
        return np.full((len(noise), 28, 28, 1), 0.5, "float32")

    fixed = np.ones((4, 2), "float32")
    grid = gen_lib.SampleGrid(sample, fixed, save_dir=tmp_path)
    model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=2, verbose=0, callbacks=[grid])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert all(c is fixed for c in calls)  # the same inputs every epoch
