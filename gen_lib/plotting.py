"""Image grids, loss curves, and a callback that shows samples while a model trains."""

import math
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np


def image_grid(images, ncols=None, title=None, row_labels=None, scale=1.0):
    """Plot images in [0, 1] of shape (N, H, W, C) as one grid; returns the figure."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            f"image_grid expects (N, H, W, 1|3) images, got shape {images.shape}."
        )
    if len(images) and (images.min() < -1e-3 or images.max() > 1 + 1e-3):
        raise ValueError(
            f"image_grid expects values in [0, 1], got [{images.min():.2f}, "
            f"{images.max():.2f}]: map tanh outputs with gen_lib.tanh_to_unit(x)."
        )
    n = len(images)
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.8 * scale, nrows * 0.8 * scale),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        if i < n:
            img = images[i]
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
    if row_labels is not None:
        for row, label in zip(axes[:, 0], row_labels, strict=False):
            row.set_ylabel(str(label), rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout(pad=0.2)
    return fig


def plot_history(history, keys=None, title="Training losses"):
    """Loss curves from a `keras.callbacks.History` (or its `.history` dict)."""
    logs = getattr(history, "history", history)
    keys = keys or list(logs)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        values = logs[key]
        ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 15 else None,
                label=key)
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, draw samples from the same fixed inputs and show them in place.

    `sample_fn(inputs)` must return images in [0, 1]. Using the same inputs every epoch
    makes the grids comparable: you watch the same digits take shape. In Jupyter the
    grid updates in place; with `save_dir` every epoch's grid is also saved as a PNG.
    """

    def __init__(self, sample_fn, inputs, every=1, save_dir=None, ncols=None):
        super().__init__()
        self.sample_fn, self.inputs = sample_fn, inputs
        self.every, self.ncols = every, ncols
        self.save_dir = Path(save_dir) if save_dir else None
        self._handle = None

    def on_epoch_end(self, epoch, logs=None):
        last = self.params and epoch + 1 == self.params.get("epochs")
        if (epoch + 1) % self.every and not last:
            return
        images = np.asarray(self.sample_fn(self.inputs))
        fig = image_grid(images, ncols=self.ncols, title=f"epoch {epoch + 1}")
        if self.save_dir:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            fig.savefig(self.save_dir / f"epoch_{epoch + 1:03d}.png", dpi=80)
        self._show(fig)
        plt.close(fig)

    def _show(self, fig):
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
