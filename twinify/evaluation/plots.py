"""Plots of the evaluation as PNG images encoded in base64, for a self-contained page.

Figures are drawn on matplotlib's Agg canvas directly, without pyplot, so no window
opens and no global figure state is touched.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from twinify.evaluation.columns import CodedColumn
from twinify.evaluation.distances import joint_marginal, marginal

#: Most categories drawn in a bar chart or heat map axis; the rest are summed as "other".
MAX_SHOWN_LABELS = 20
REAL_COLOUR = "#4c72b0"
SYNTHETIC_COLOUR = "#dd8452"
DPI = 80


def figure_to_base64(figure: Figure) -> str:
    """Render ``figure`` as PNG and return the base64 text."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def marginal_plot(column: CodedColumn) -> str:
    """Plot the real and synthetic marginal of one column side by side."""
    size = len(column.labels)
    real = marginal(column.real_codes, size)
    synthetic = marginal(column.synthetic_codes, size)
    shown = _shown_codes(real + synthetic)
    labels = [column.labels[code] for code in shown]
    real_shown, synthetic_shown = real[shown], synthetic[shown]
    if len(shown) < size:
        labels.append("(other)")
        real_shown = np.append(real_shown, 1.0 - real_shown.sum())
        synthetic_shown = np.append(synthetic_shown, 1.0 - synthetic_shown.sum())

    figure = Figure(figsize=(max(4.0, 0.35 * len(labels) + 1.5), 2.8))
    axes = figure.add_subplot()
    positions = np.arange(len(labels))
    axes.bar(positions - 0.2, real_shown, width=0.4, label="real", color=REAL_COLOUR)
    axes.bar(positions + 0.2, synthetic_shown, width=0.4, label="synthetic", color=SYNTHETIC_COLOUR)
    axes.set_xticks(positions, labels, rotation=60, ha="right", fontsize=7)
    axes.set_ylabel("share of rows")
    axes.set_title(f"{column.name} ({column.kind})", fontsize=9)
    axes.legend(fontsize=7)
    return figure_to_base64(figure)


def association_difference_plot(names: list[str], real: np.ndarray, synthetic: np.ndarray) -> str:
    """Draw the absolute difference of the two association matrices as a heat map."""
    difference = np.abs(real - synthetic)
    size = len(names)
    figure = Figure(figsize=(max(4.0, 0.4 * size + 2), max(3.5, 0.4 * size + 1.5)))
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_invalid(difference), vmin=0.0, vmax=1.0, cmap="viridis")
    axes.set_xticks(np.arange(size), names, rotation=60, ha="right", fontsize=7)
    axes.set_yticks(np.arange(size), names, fontsize=7)
    axes.set_title("|association(real) - association(synthetic)|", fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.046)
    return figure_to_base64(figure)


def joint_plot(first: CodedColumn, second: CodedColumn) -> str:
    """Draw the real and synthetic two-way marginal of a pair of columns as heat maps."""
    sizes = (len(first.labels), len(second.labels))
    real = joint_marginal(first.real_codes, second.real_codes, sizes)
    synthetic = joint_marginal(first.synthetic_codes, second.synthetic_codes, sizes)
    rows = _shown_codes(real.sum(axis=1) + synthetic.sum(axis=1))
    columns = _shown_codes(real.sum(axis=0) + synthetic.sum(axis=0))
    top = max(real[np.ix_(rows, columns)].max(), synthetic[np.ix_(rows, columns)].max())

    figure = Figure(figsize=(max(6.0, 0.5 * len(columns) + 3), max(3.0, 0.3 * len(rows) + 1.5)),
                    layout="constrained")
    for position, (table, title) in enumerate(((real, "real"), (synthetic, "synthetic")), start=1):
        axes = figure.add_subplot(1, 2, position)
        image = axes.imshow(table[np.ix_(rows, columns)], vmin=0.0, vmax=top, cmap="magma", aspect="auto")
        axes.set_xticks(np.arange(len(columns)), [second.labels[c] for c in columns], rotation=60,
                        ha="right", fontsize=6)
        axes.set_xlabel(second.name, fontsize=8)
        if position == 1:
            axes.set_yticks(np.arange(len(rows)), [first.labels[r] for r in rows], fontsize=6)
            axes.set_ylabel(first.name, fontsize=8)
        else:
            # The synthetic panel shares the rows of the real one; labels would overlap it.
            axes.set_yticks(np.arange(len(rows)), [])
        axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=figure.axes, fraction=0.03)
    return figure_to_base64(figure)


def _shown_codes(weights: np.ndarray) -> np.ndarray:
    # The most frequent codes, kept in code order so that bins stay in sequence.
    if weights.size <= MAX_SHOWN_LABELS:
        return np.arange(weights.size)
    return np.sort(np.argsort(-weights, kind="stable")[:MAX_SHOWN_LABELS])
