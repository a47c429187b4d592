"""Parsing of twinify 2.x model files and the inline metadata extension."""

from __future__ import annotations

import pytest

from twinify.errors import InputError
from twinify.modelspec import parse_model_text, read_model_file


def test_parse_twinify2_file():
    text = "# a comment\nage: Normal\n\nworkclass : categorical   # trailing comment\nincome:Bernoulli\n"
    specs = parse_model_text(text)
    assert [(s.column, s.distribution, s.line) for s in specs] == [
        ("age", "Normal", 2), ("workclass", "categorical", 4), ("income", "Bernoulli", 5),
    ]
    assert all(spec.metadata == {} for spec in specs)


def test_parse_inline_metadata():
    specs = parse_model_text('age: Normal(lower=17, upper=90)\nsex: Categorical(categories=["F", "M#x"])')
    assert specs[0].metadata == {"lower": 17, "upper": 90}
    assert specs[1].metadata == {"categories": ["F", "M#x"]}


def test_column_names_may_contain_spaces():
    assert parse_model_text("hours per week: Poisson")[0].column == "hours per week"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("age Normal", "expected 'column: Distribution'"),
        ("age:", "expected 'column: Distribution'"),
        ("age: Normal(", "cannot parse"),
        ("age: Normal(17)", "keyword arguments"),
        ("age: Normal(colour=1)", "unknown metadata key 'colour'"),
        ("age: Normal(lower=__import__('os').getcwd())", "must be a literal"),
        ("age: 3", "expected a distribution name"),
        ("age: Normal\nage: Poisson", "already listed on line 1"),
        ("# only a comment\n", "lists no columns"),
    ],
)
def test_parse_errors_name_the_problem(text, fragment):
    with pytest.raises(InputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_model_text(text)


def test_read_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_model_file(tmp_path / "missing.txt")
