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


def test_sample_grid_records_every_grid_and_plots_progress():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    epoch = iter(range(1, 100))

    def sample(noise):  # epoch e draws images of brightness e / 20, one per input
        e = next(epoch)
        return np.full((len(noise), 28, 28, 1), e / 20, "float32")

    grid = gen_lib.SampleGrid(sample, np.ones((6, 2), "float32"), log_keys=["loss"])
    with pytest.raises(ValueError, match="after fit"):
        grid.plot_progress()
    model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=12, verbose=0, callbacks=[grid])
    assert grid.epochs == list(range(1, 13)) and len(grid.images) == 12
    fig = grid.plot_progress(num_images=4, max_rows=5)
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels[0] == "epoch 1" and labels[-1] == "epoch 12" and len(labels) == 5
    assert len(fig.axes) == 5 * 4 and "5 of 12 recorded epochs" in fig._suptitle.get_text()
    fig = grid.plot_progress(indices=[5, 0])
    assert len(fig.axes) == 10 * 2


def test_diagram_draws_boxes_and_refuses_unknown_names():
    fig = gen_lib.diagram({"a": (0, 0, "A"), "b": (2, 0, "B", "#fce5cd")},
                          [("a", "b", "flows"), ("b", "a", "updates", "tab:red", "dashed")],
                          title="t")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert {"A", "B", "flows", "updates"} <= set(texts)
    with pytest.raises(ValueError, match="'c', which is not a box"):
        gen_lib.diagram({"a": (0, 0, "A")}, [("a", "c")])
