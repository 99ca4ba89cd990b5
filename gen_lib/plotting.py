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
    # Square tiles with equal gaps, and fixed room (in inches) for the title and the row
    # labels, so that neither overlaps the images however many rows there are.
    tile, gap = 0.8 * scale, 0.06
    left = 0.75 if row_labels is not None else 0.05
    top = 0.4 if title else 0.05
    width = left + ncols * tile + (ncols - 1) * gap + 0.05
    height = top + nrows * tile + (nrows - 1) * gap + 0.05
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, height), squeeze=False,
        gridspec_kw=dict(left=left / width, right=1 - 0.05 / width, bottom=0.05 / height,
                         top=1 - top / height, wspace=gap / tile, hspace=gap / tile))
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
        fig.suptitle(title, y=1 - 0.08 / height, va="top", fontsize=10)
    return fig


def plot_history(history, keys=None, title="Training losses", ylabel="loss"):
    """Curves of logged values per epoch, from a `keras.callbacks.History` (or its dict)."""
    logs = getattr(history, "history", history)
    keys = keys or list(logs)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        values = logs[key]
        ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 15 else None,
                label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, draw samples from the same fixed inputs and show them in place.

    `sample_fn(inputs)` must return images in [0, 1]. Using the same inputs every epoch
    makes the grids comparable: you watch the same digits take shape. In Jupyter the grid
    updates in place, its title showing the epoch and the logs named in `log_keys`, so a
    long run leaves one picture, not a page of logs. Every grid shown is kept:
    `plot_progress()` puts them together as one figure. With `save_dir` every grid is
    also saved as a PNG.
    """

    def __init__(self, sample_fn, inputs, every=1, save_dir=None, ncols=None, log_keys=()):
        super().__init__()
        if int(every) < 1:
            raise ValueError(f"SampleGrid(every={every!r}): every must be a positive epoch count.")
        self.sample_fn, self.inputs = sample_fn, inputs
        self.every, self.ncols, self.log_keys = int(every), ncols, tuple(log_keys)
        self.save_dir = Path(save_dir) if save_dir else None
        self.epochs, self.images = [], []  # every grid shown, in order
        self._handle = None

    def on_epoch_end(self, epoch, logs=None):
        total = (self.params or {}).get("epochs")
        if (epoch + 1) % self.every and epoch + 1 != total:
            return
        images = np.asarray(self.sample_fn(self.inputs))
        self.epochs.append(epoch + 1)
        self.images.append(images)
        title = f"epoch {epoch + 1}" + (f"/{total}" if total else "")
        shown = [f"{k} {float(logs[k]):.3f}" for k in self.log_keys if k in (logs or {})]
        fig = image_grid(images, ncols=self.ncols, title=" · ".join([title, *shown]))
        if self.save_dir:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            fig.savefig(self.save_dir / f"epoch_{epoch + 1:03d}.png", dpi=80)
        self._show(fig)
        plt.close(fig)

    def plot_progress(self, num_images=8, max_rows=10, title="samples across training",
                      indices=None):
        """One figure: a row per recorded epoch (at most `max_rows`, evenly spread, the
        first and last always included), the same inputs in every row: the first
        `num_images`, or those at `indices` (e.g. one per class of a conditional grid)."""
        if not self.images:
            raise ValueError("No grid recorded yet: plot_progress() comes after fit().")
        picked = (np.arange(min(num_images, len(self.images[0]))) if indices is None
                  else np.asarray(indices))
        rows = np.unique(np.linspace(0, len(self.images) - 1,
                                     min(max_rows, len(self.images))).round().astype(int))
        images = np.concatenate([self.images[r][picked] for r in rows])
        shown = (f"all {len(rows)} recorded epochs" if len(rows) == len(self.images)
                 else f"{len(rows)} of {len(self.images)} recorded epochs")
        return image_grid(images, ncols=len(picked), title=f"{title} ({shown})",
                          row_labels=[f"epoch {self.epochs[r]}" for r in rows], scale=1.1)

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


def diagram(boxes, arrows, title=None, figsize=(8, 3)):
    """A block diagram: the model's parts and what flows, or which loss updates what.

    boxes: {name: (x, y, text)} or {name: (x, y, text, face colour)}, centres in any units.

    arrows: (from, to), (from, to, label), (from, to, label, colour) or
    (from, to, label, colour, line style), e.g. ("d_loss", "D", "updates", "tab:red",
    "dashed").

    Drawn with matplotlib, so it shows wherever the notebook is opened.
    """
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_axis_off()
    centres, patches = {}, {}
    for name, spec in boxes.items():
        if len(spec) not in (3, 4):
            raise ValueError(f"box {name!r}: expected (x, y, text[, colour]), got {spec!r}.")
        x, y, text = spec[:3]
        colour = spec[3] if len(spec) == 4 else "#e8eef7"
        centres[name] = (x, y)
        label = ax.text(x, y, text, ha="center", va="center", fontsize=10, zorder=3,
                        bbox=dict(boxstyle="round,pad=0.45", facecolor=colour,
                                  edgecolor="#333333"))
        patches[name] = label.get_bbox_patch()
    for arrow in arrows:
        if not 2 <= len(arrow) <= 5:
            raise ValueError(f"arrow {arrow!r}: expected (from, to[, label, colour, style]).")
        start, end = arrow[0], arrow[1]
        label = arrow[2] if len(arrow) > 2 else ""
        colour = arrow[3] if len(arrow) > 3 else "#333333"
        style = arrow[4] if len(arrow) > 4 else "solid"
        for end_name in (start, end):
            if end_name not in centres:
                raise ValueError(f"arrow {arrow!r} names {end_name!r}, which is not a box.")
        (x0, y0), (x1, y1) = centres[start], centres[end]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=2,
                    arrowprops=dict(arrowstyle="-|>", color=colour, linestyle=style, lw=1.5,
                                    patchA=patches[start], patchB=patches[end],
                                    shrinkA=2, shrinkB=2, mutation_scale=14))
        if label:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, label, ha="center", va="center",
                    fontsize=8.5, color=colour, zorder=4,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"))
    xs, ys = zip(*centres.values())
    pad_x, pad_y = 0.12 * (max(xs) - min(xs) or 1), 0.25 * (max(ys) - min(ys) or 1)
    ax.set_xlim(min(xs) - pad_x, max(xs) + pad_x)
    ax.set_ylim(min(ys) - pad_y, max(ys) + pad_y)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
