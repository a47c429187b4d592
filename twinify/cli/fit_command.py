"""``twinify vi`` / ``twinify napsu`` and any backend's command: fit, generate, save."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from twinify import api
from twinify.cli.parser import backend_options_from
from twinify.errors import InputError
from twinify.persistence import MODEL_SUFFIX, model_writer, write_all_atomically
from twinify.plugin.registry import Registry
from twinify.privacy import PrivacyReport
from twinify.tableio import check_folder, check_writable, read_table
from twinify.types import InferenceBackend

logger = logging.getLogger("twinify")


def output_paths(prefix: str, data_suffix: str) -> dict[str, Path]:
    """Return the files a fitting command writes for ``prefix``."""
    return {
        "data": Path(f"{prefix}{data_suffix}"),
        "model": Path(f"{prefix}{MODEL_SUFFIX}"),
        "report": Path(f"{prefix}.privacy.json"),
    }


def run_fit(args: argparse.Namespace, registry: Registry, backend: InferenceBackend) -> int:
    """Fit ``backend`` to the data file, then write synthetic data, model and report."""
    writer = next(record for record in registry.records("writers") if record.name == args.output_format)
    paths = output_paths(args.output_prefix, writer.suffixes[0])
    check_writable(paths["data"], registry)
    check_folder(paths["model"])
    check_folder(paths["report"])
    if args.num_synthetic is not None:
        if args.num_synthetic < 1:
            raise InputError(f"invalid --num_synthetic {args.num_synthetic}: use at least 1")
        api.check_num_rows(args.num_synthetic)
    if args.drop_na not in (0, 1):
        raise InputError(f"invalid --drop_na {args.drop_na}: use 0 or 1")

    data = read_table(args.data, registry)
    logger.info("read %d rows and %d columns from %s", data.shape[0], data.shape[1], args.data)
    twin = api.fit(
        data,
        _model_argument(args.model),
        epsilon=args.epsilon,
        delta=args.delta,
        backend=backend.name,
        relation=args.relation,
        schema=args.schema,
        seed=args.seed,
        strict_domains=args.strict,
        drop_na=bool(args.drop_na),
        bounds_epsilon=args.dp_bounds,
        show_progress=not args.quiet,
        registry=registry,
        **backend_options_from(args, backend),
    )
    report = twin.privacy_report
    print(report.format_text())

    num_rows = args.num_synthetic or twin.default_num_rows or _public_row_count(report, data)
    generation_seed = None if args.seed is None else args.seed + 1
    synthetic = twin.generate(num_rows, seed=generation_seed)

    # All three files appear together or none does.
    write_all_atomically([
        (paths["report"], lambda temporary: Path(temporary).write_text(report.to_json())),
        (paths["model"], model_writer(twin.fitted, registry)),
        (paths["data"], lambda temporary: writer.write(synthetic, temporary)),
    ])
    for kind in ("data", "model", "report"):
        logger.info("wrote %s to %s", {"data": f"{num_rows} synthetic rows", "model": "the model",
                                       "report": "the privacy report"}[kind], paths[kind])
    return 0


def _model_argument(model: str) -> str | Path:
    return model if model == "auto" else Path(model)


def _public_row_count(report: PrivacyReport, data: pd.DataFrame) -> int:
    """Return the number of rows when the relation makes it public; raise otherwise."""
    if report.relation == "substitution":
        return data.shape[0]
    raise InputError(
        "the row count is private under the add-remove relation and this backend gives no "
        "DP estimate of it: pass --num_synthetic N"
    )
