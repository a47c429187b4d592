"""A self-contained HTML page showing an evaluation: no scripts, styles or images from outside.

Every figure in a metric table carries its place in the metrics as a JSON path in
``data-metric`` and its exact value in ``data-value``, so a script can check the page
against the ``--json`` output.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from twinify.evaluation.evaluate import Evaluation
from twinify.evaluation.plots import association_difference_plot, joint_plot, marginal_plot

#: Most columns drawn as marginal plots; the metric table lists every column.
MAX_MARGINAL_PLOTS = 60
#: Worst two-way marginals drawn.
JOINT_PLOTS = 3

WARNING = (
    "This report is computed from the real data. It is for the data holder's eyes only: "
    "it is not covered by the model's differential privacy guarantee, so do not publish "
    "or share it together with the synthetic data."
)

STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 80em; color: #222; }
.warning { border: 2px solid #b00020; background: #fdecea; padding: 0.8em; font-weight: bold; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0.3em; vertical-align: top; }
pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; }
.note { color: #555; }
"""


def render_html(
    evaluation: Evaluation,
    *,
    real_name: str,
    synthetic_name: str,
    privacy_text: str | None = None,
) -> str:
    """Return the report page for ``evaluation`` as one HTML string."""
    metrics = evaluation.metrics
    sections = [
        f'<p class="warning">{html.escape(WARNING)}</p>',
        f"<p>Real data: <code>{html.escape(real_name)}</code> ({metrics['rows']['real']} rows). "
        f"Synthetic data: <code>{html.escape(synthetic_name)}</code> ({metrics['rows']['synthetic']} rows).</p>",
        _summary_section(metrics),
        _utility_section(metrics.get("utility")),
        _columns_section(evaluation),
        _association_section(evaluation),
        _joint_section(evaluation),
        _privacy_section(privacy_text),
    ]
    embedded = json.dumps(metrics).replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>twinify evaluation report</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>twinify evaluation report</h1>\n"
        + "\n".join(sections)
        + f'\n<script type="application/json" id="metrics">{embedded}</script>\n</body>\n</html>\n'
    )


def _metric_cell(metrics: dict[str, Any], path: Sequence[Any]) -> str:
    value: Any = metrics
    for key in path:
        value = value[key]
    if value is None:
        shown = "n/a"
    elif isinstance(value, float):
        shown = f"{value:.4g}"
    else:
        shown = str(value)
    return (
        f"<td class=\"number\" data-metric=\"{html.escape(json.dumps(list(path)))}\" "
        f"data-value=\"{html.escape(json.dumps(value))}\">{html.escape(shown)}</td>"
    )


def _table(header: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    return f"<table>\n<tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def _summary_section(metrics: dict[str, Any]) -> str:
    rows = [
        ("Mean one-way total variation distance", ["one_way_tv", "mean"]),
        ("Worst one-way total variation distance", ["one_way_tv", "max"]),
        ("Mean two-way total variation distance", ["two_way_tv", "mean"]),
        ("Worst two-way total variation distance", ["two_way_tv", "max"]),
        ("Mean absolute difference of associations", ["association", "mean_abs_difference"]),
        ("Largest absolute difference of associations", ["association", "max_abs_difference"]),
    ]
    body = [f"<tr><td>{html.escape(label)}</td>{_metric_cell(metrics, path)}</tr>" for label, path in rows]
    association = metrics["association"]
    return (
        "<h2>Summary</h2>\n"
        + _table(["metric", "value"], body)
        + f"<p class=\"note\">Distances are total variation distances (0 equal, 1 disjoint) over "
        f"{metrics['two_way_tv']['pairs']} column pairs. Binning: {html.escape(metrics['settings']['binning'])} "
        f"(at most {metrics['settings']['bins']} bins). Associations: Pearson's r for numeric pairs, "
        "Cramér's V for categorical pairs, the correlation ratio for mixed pairs, from rows where "
        f"both values are present; {association['undefined_pairs']} pair(s) were undefined "
        "(a constant column) and left out.</p>"
    )


def _utility_section(utility: dict[str, Any] | None) -> str:
    if utility is None:
        return "<h2>Classifier accuracy</h2>\n<p class=\"note\">Not computed: no target column was given.</p>"
    rows = [
        ("Trained on synthetic, tested on real", ["utility", "train_on_synthetic_accuracy"]),
        ("Trained on real, tested on real", ["utility", "train_on_real_accuracy"]),
        ("Majority class of the real training rows", ["utility", "majority_class_accuracy"]),
    ]
    metrics = {"utility": utility}
    body = [f"<tr><td>{html.escape(label)}</td>{_metric_cell(metrics, path)}</tr>" for label, path in rows]
    return (
        f"<h2>Classifier accuracy for {html.escape(str(utility['target']))}</h2>\n"
        + _table(["training data", "accuracy"], body)
        + f"<p class=\"note\">{html.escape(utility['classifier'])}. Test rows: "
        f"{html.escape(utility['test_source'])}.</p>"
    )


def _columns_section(evaluation: Evaluation) -> str:
    metrics = evaluation.metrics
    rows = []
    for column in evaluation.columns:
        path = ["columns", column.name]
        rows.append(
            f"<tr><td>{html.escape(column.name)}</td><td>{column.kind}</td>"
            f"{_metric_cell(metrics, [*path, 'tv'])}"
            f"{_metric_cell(metrics, [*path, 'missing_rate_real'])}"
            f"{_metric_cell(metrics, [*path, 'missing_rate_synthetic'])}"
            f"<td>{html.escape(column.binning)}</td></tr>"
        )
    figures = [
        f'<figure><img alt="marginal of {html.escape(column.name)}" '
        f'src="data:image/png;base64,{marginal_plot(column)}"></figure>'
        for column in evaluation.columns[:MAX_MARGINAL_PLOTS]
    ]
    note = ""
    if len(evaluation.columns) > MAX_MARGINAL_PLOTS:
        note = f"<p class=\"note\">Plots show the first {MAX_MARGINAL_PLOTS} columns.</p>"
    return (
        "<h2>Columns</h2>\n"
        + _table(["column", "kind", "total variation", "missing (real)", "missing (synthetic)", "labels"], rows)
        + note
        + "\n".join(figures)
    )


def _association_section(evaluation: Evaluation) -> str:
    if len(evaluation.columns) < 2:
        return ""
    names = [column.name for column in evaluation.columns]
    image = association_difference_plot(names, evaluation.real_association, evaluation.synthetic_association)
    return (
        "<h2>Association differences</h2>\n"
        f'<figure><img alt="association difference heat map" src="data:image/png;base64,{image}"></figure>'
    )


def _joint_section(evaluation: Evaluation) -> str:
    worst = evaluation.metrics["two_way_tv"]["worst"]
    if not worst:
        return ""
    by_name = {column.name: column for column in evaluation.columns}
    rows, figures = [], []
    for index, pair in enumerate(worst):
        first, second = pair["columns"]
        rows.append(
            f"<tr><td>{html.escape(first)}</td><td>{html.escape(second)}</td>"
            f"{_metric_cell(evaluation.metrics, ['two_way_tv', 'worst', index, 'tv'])}</tr>"
        )
        if index < JOINT_PLOTS:
            image = joint_plot(by_name[first], by_name[second])
            figures.append(
                f'<figure><img alt="joint of {html.escape(first)} and {html.escape(second)}" '
                f'src="data:image/png;base64,{image}"></figure>'
            )
    return (
        "<h2>Worst two-way marginals</h2>\n"
        + _table(["column", "column", "total variation"], rows)
        + "\n".join(figures)
    )


def _privacy_section(privacy_text: str | None) -> str:
    if privacy_text is None:
        return (
            "<h2>Privacy report of the model</h2>\n<p class=\"note\">No model file was given "
            "(use --model to include its privacy report).</p>"
        )
    return f"<h2>Privacy report of the model</h2>\n<pre>{html.escape(privacy_text)}</pre>"
