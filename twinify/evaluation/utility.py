"""Train on synthetic, test on real: does a classifier learned from the twin still work?

A gradient-boosted tree classifier (scikit-learn's HistGradientBoostingClassifier,
which handles missing values itself) learns to predict the target column from the
other columns, once from the synthetic data and once from real training data, and
both are scored by accuracy on the same real test rows. The majority class of the
real training rows gives the baseline that any useful model must beat.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from twinify.errors import DataError, InputError
from twinify.evaluation.columns import CATEGORICAL, MISSING_LABEL, label_values, numeric_values

logger = logging.getLogger(__name__)

#: Share of the real rows held out for testing when no test table is given.
HOLDOUT_SHARE = 0.2
#: Seed of the hold-out split and the classifiers, so that reports are reproducible.
EVALUATION_SEED = 0
#: HistGradientBoostingClassifier treats at most this many categories natively.
MAX_NATIVE_CATEGORIES = 255
#: A numeric target with more distinct values than this is rejected as not a class label.
MAX_NUMERIC_CLASSES = 20
#: Training sets smaller than this are fitted on one thread. OpenMP's waiting threads
#: made the multi-threaded fit of a few hundred rows take tens of seconds on a busy
#: 2-core machine, against under a second on one thread.
SINGLE_THREAD_ROWS = 100_000


def split_holdout(real: pd.DataFrame, share: float = HOLDOUT_SHARE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``real`` into training and test rows at random (fixed seed)."""
    rng = np.random.default_rng(EVALUATION_SEED)
    test_mask = rng.random(real.shape[0]) < share
    return real[~test_mask].reset_index(drop=True), real[test_mask].reset_index(drop=True)


def utility_metrics(
    real_train: pd.DataFrame,
    synthetic: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    kinds: dict[str, str],
    test_source: str,
) -> dict[str, Any]:
    """Return the test accuracies of train-on-synthetic, train-on-real and the majority class.

    Args:
        real_train: Real rows to train the reference classifier on.
        synthetic: Synthetic rows to train the compared classifier on.
        test: Real rows both classifiers are scored on.
        target: Column to predict.
        kinds: Column kinds from :func:`twinify.evaluation.columns.column_kinds`.
        test_source: Where the test rows came from, for the report.

    Raises:
        InputError: the target is not a column, or is numeric with many values.
        DataError: no test or training rows have a target value.
    """
    _check_target(real_train, target, kinds)
    features = [name for name in real_train.columns if name != target]
    tables = {"real": real_train, "synthetic": synthetic, "test": test}
    encoded = _encode_features(tables, features, kinds)
    labels = {name: label_values(table[target]) for name, table in tables.items()}

    keep_test = labels["test"] != MISSING_LABEL
    if not keep_test.any():
        raise DataError(f"no test row has a value in the target column {target!r}")
    x_test, y_test = encoded["test"][0][keep_test], labels["test"][keep_test]

    accuracies = {}
    for name in ("synthetic", "real"):
        x, categorical_mask = encoded[name]
        keep = labels[name] != MISSING_LABEL
        if not keep.any():
            raise DataError(f"no row of the {name} training data has a value in the target column {target!r}")
        predictions = _fit_predict(x[keep], labels[name][keep], categorical_mask, x_test)
        accuracies[name] = float(np.mean(predictions == y_test))

    majority = _majority_label(labels["real"])
    return {
        "target": target,
        "test_source": test_source,
        "test_rows": int(keep_test.sum()),
        "classifier": "HistGradientBoostingClassifier (scikit-learn, default settings)",
        "train_on_synthetic_accuracy": accuracies["synthetic"],
        "train_on_real_accuracy": accuracies["real"],
        "majority_class_accuracy": float(np.mean(y_test == majority)),
    }


def _check_target(real: pd.DataFrame, target: str, kinds: dict[str, str]) -> None:
    if target not in real.columns:
        raise InputError(f"target column {target!r} is not in the real data; check --target")
    if kinds[target] != CATEGORICAL:
        distinct = real[target].nunique(dropna=True)
        if distinct > MAX_NUMERIC_CLASSES:
            raise InputError(
                f"target column {target!r} is numeric with {distinct} distinct values; choose a "
                "column of class labels, or list it with --categorical to treat each value as a class"
            )


def _encode_features(
    tables: dict[str, pd.DataFrame], features: list[str], kinds: dict[str, str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    # Categorical features become integer codes over the labels of all three tables,
    # with NaN for missing; numeric features stay numbers.
    columns: dict[str, list[np.ndarray]] = {name: [] for name in tables}
    categorical_mask = []
    for feature in features:
        if kinds[feature] == CATEGORICAL:
            per_table = {name: label_values(table[feature]) for name, table in tables.items()}
            vocabulary = sorted(set().union(*per_table.values()) - {MISSING_LABEL})
            for name, labels in per_table.items():
                codes = pd.Categorical(labels, categories=vocabulary).codes.astype(float)
                codes[codes < 0] = np.nan
                columns[name].append(codes)
            categorical_mask.append(len(vocabulary) <= MAX_NATIVE_CATEGORIES)
        else:
            for name, table in tables.items():
                columns[name].append(numeric_values(table[feature], feature, f"{name} data"))
            categorical_mask.append(False)

    mask = np.array(categorical_mask, dtype=bool)
    encoded = {}
    for name, table in tables.items():
        matrix = np.column_stack(columns[name]) if features else np.zeros((table.shape[0], 0))
        encoded[name] = (matrix, mask)
    return encoded


def _fit_predict(x: np.ndarray, y: np.ndarray, categorical_mask: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    classes = np.unique(y)
    if classes.size == 1 or x.shape[1] == 0:
        # A single class, or no features: the best rule is the most frequent class.
        return np.full(x_test.shape[0], _majority_label(y), dtype=object)
    model = HistGradientBoostingClassifier(
        categorical_features=categorical_mask if categorical_mask.any() else None,
        random_state=EVALUATION_SEED,
    )
    threads = 1 if x.shape[0] < SINGLE_THREAD_ROWS else None
    with threadpool_limits(limits=threads, user_api="openmp"):
        model.fit(x, y)
        return model.predict(x_test)


def _majority_label(labels: np.ndarray) -> str:
    present = labels[labels != MISSING_LABEL]
    values, counts = np.unique(present, return_counts=True)
    return str(values[np.argmax(counts)])
