"""The lines each notebook shows for one `gen_lib.minimize` call, on the current backend,
do what `minimize` does: the same loss, the same gradients, the same optimizer steps.

The code is notebooks/src/minimize_by_backend.md, which the build appends to every cell
tagged "minimize-by-backend". Run once per backend, like the other tests.
"""

import re
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
from keras import layers, ops

import gen_lib

ROOT = Path(__file__).resolve().parent.parent
SHOWN = ROOT / "notebooks" / "src" / "minimize_by_backend.md"
LABELS = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
BACKEND = keras.backend.backend()
STEPS = 3  # more than one, so the optimizer's moments and step count matter


def shown_code(label):
    text = SHOWN.read_text()
    found = re.findall(r"\*\*(\w+)\*\*\n\n```python\n(.*?)\n```", text, re.S)
    assert [name for name, _ in found] == list(LABELS.values()), found
    return dict(found)[label]


def network():
    x = keras.Input((5,))
    h = layers.Dense(8, activation="tanh")(x)
    return keras.Model(x, layers.Dense(2)(h))


def data():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(16, 5)).astype("float32"),
            rng.normal(size=(16, 2)).astype("float32"))


class OneNetwork(keras.Model):
    """A model whose train_step is one minimize call, as in the notebooks."""

    def __init__(self, net, fixed):
        super().__init__()
        self.net, self.fixed = net, fixed
        self.built = True

    @gen_lib.train_step
    def train_step(self, batch):
        x, y = batch

        def loss_fn():  # reads `fixed` too: it must get no step
            return ops.mean(ops.square(self.net(x) + self.fixed(x) - y))

        loss = gen_lib.minimize(loss_fn, self.net.trainable_variables, self.optimizer)
        return {"step_loss": loss}  # not "loss": compile made a tracker of that name


def weights(model):
    return [ops.convert_to_numpy(v) for v in model.weights]


def test_the_shown_code_takes_the_steps_minimize_takes():
    x, y = data()
    keras.utils.set_random_seed(1)
    net, fixed = network(), network()
    start_net, start_fixed = net.get_weights(), fixed.get_weights()

    # What the notebook shows, run as it is written, outside any train step.
    optimizer = keras.optimizers.Adam(1e-2)
    variables = net.trainable_variables

    x_t, y_t = ops.convert_to_tensor(x), ops.convert_to_tensor(y)

    def loss_fn():
        return ops.mean(ops.square(net(x_t) + fixed(x_t) - y_t))

    shown_losses = []
    for _ in range(STEPS):
        namespace = {"keras": keras, "loss_fn": loss_fn, "variables": variables,
                     "optimizer": optimizer}
        exec(shown_code(LABELS[BACKEND]), namespace)
        shown_losses.append(float(ops.convert_to_numpy(ops.stop_gradient(namespace["loss"]))))
    shown_net, shown_fixed = weights(net), weights(fixed)
    assert int(ops.convert_to_numpy(optimizer.iterations)) == STEPS

    # minimize, inside fit's train step (jitted where the backend jits).
    net.set_weights(start_net)
    fixed.set_weights(start_fixed)
    model = OneNetwork(net, fixed)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(x, y, batch_size=len(x), epochs=STEPS, shuffle=False, verbose=0)

    # fit logs each epoch's loss before that epoch's step, like the shown code.
    np.testing.assert_allclose(history.history["step_loss"], shown_losses, rtol=1e-5)
    for shown, trained in zip(shown_net, weights(net), strict=True):
        np.testing.assert_allclose(shown, trained, rtol=1e-5, atol=1e-6)
    for shown, trained, start in zip(shown_fixed, weights(fixed), start_fixed, strict=True):
        np.testing.assert_array_equal(shown, start)  # held fixed by the shown code
        np.testing.assert_array_equal(trained, start)  # and by minimize
    assert not np.allclose(shown_net[0], start_net[0])  # and the steps did move net


def test_every_notebook_shows_the_gradient_step_once():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells
                 if "minimize-by-backend" in c.metadata.get("tags", [])]
        assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged minimize-by-backend"
        cell = cells[0]
        assert cell.cell_type == "markdown"
        assert cell.source.endswith(SHOWN.read_text().strip()), path.name
        intro = cell.source[: -len(SHOWN.read_text().strip())]
        assert "loss_fn" in intro and "variables" in intro and "optimizer" in intro, (
            f"{path.name}: the introduction must say what loss_fn, variables and "
            "optimizer are in this notebook's train_step")


@pytest.mark.parametrize("label", LABELS.values())
def test_the_shown_code_fits_a_notebook_cell(label):
    assert all(len(line) <= 88 for line in shown_code(label).splitlines())
