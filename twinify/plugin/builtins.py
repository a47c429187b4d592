"""Names of the built-in plugins declared in twinify's own pyproject.toml.

A test checks that this tuple and the ``[project.entry-points.twinify]`` table agree,
so a built-in cannot silently go missing from the installed package.
"""

BUILTIN_ENTRY_POINTS: dict[str, str] = {
    "normal": "twinify_features.normal",
    "bernoulli": "twinify_features.bernoulli",
    "categorical": "twinify_features.categorical",
    "poisson": "twinify_features.poisson",
    "missing": "twinify_features.missing",
    "csv": "twinify_io.csv_format",
    "parquet": "twinify_io.parquet_format",
    "dpvi": "twinify_dpvi",
    "napsu": "twinify_napsu",
}
