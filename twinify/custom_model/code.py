"""Loading a custom NumPyro model file: run it, find its functions, check their signatures.

Loading runs the user's Python code, which is expected when fitting or checking
a model the user wrote. A saved model stores the file's text and SHA-256 but never
runs it: generating from a saved model runs the file the user passes again, after
checking that its hash matches.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import traceback
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from twinify.custom_model import ModelCodeError

#: How each function of a model file is called, for signature errors.
EXPECTED_CALLS = {
    "model": "model(x=None, num_obs_total=None)",
    "guide": "guide(x=None, num_obs_total=None)",
    "preprocess": "preprocess(df)",
    "postprocess": "postprocess(df)",
    "model_factory": "model_factory(args, unknown_args, data_description)",
}

#: The calls twinify makes to each function: arguments for ``Signature.bind`` and
#: how the call reads in an error.
CALL_FORMS = {
    "model": [((), "model()"), ((None,), "model(x)")],
    "guide": [((None,), "guide(x)")],
    "preprocess": [((None,), "preprocess(df)")],
    "postprocess": [((None,), "postprocess(df)")],
    "model_factory": [((None, None, None), "model_factory(args, unknown_args, data_description)")],
}

#: Maximum length, in characters, of an exception message quoted in an error.
MAX_MESSAGE_LENGTH = 200


@attrs.frozen(kw_only=True)
class FactoryContext:
    """What twinify 2.0.0 passed to ``model_factory``, rebuilt from public facts.

    Attributes:
        options: Fit options by name (backend options, epsilon, delta), set as
            attributes of the ``argparse.Namespace`` that ``model_factory`` gets.
        columns: Column names of the data as read.
        dtypes: pandas dtype names of those columns.
    """

    options: Mapping[str, Any]
    columns: tuple[str, ...] = attrs.field(converter=tuple)
    dtypes: tuple[str, ...] = attrs.field(converter=tuple)

    def to_config(self) -> dict[str, Any]:
        """Return the context as JSON-compatible data for saved models."""
        return {"options": dict(self.options), "columns": list(self.columns), "dtypes": list(self.dtypes)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FactoryContext:
        """Rebuild a context from :meth:`to_config` output."""
        return cls(options=config["options"], columns=config["columns"], dtypes=config["dtypes"])


class DataDescription:
    """The data's column names and dtype names, passed to a 2.x ``model_factory``.

    twinify 2.0.0 passed its own ``DataDescription``; this one offers its
    ``columns``, ``dtypes`` and ``num_columns`` attributes. The dtypes are pandas
    dtype names, and text columns are ``"object"``, without the category sets
    that 2.0.0 read from the data.
    """

    def __init__(self, columns: tuple[str, ...], dtypes: tuple[str, ...]) -> None:
        self._dtypes = dict(zip(columns, dtypes))

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the column names."""
        return tuple(self._dtypes)

    @property
    def dtypes(self) -> dict[str, str]:
        """Return the dtype name of each column."""
        return dict(self._dtypes)

    @property
    def num_columns(self) -> int:
        """Return the number of columns."""
        return len(self._dtypes)


@attrs.frozen(kw_only=True)
class ModelCode:
    """The functions of a loaded model file.

    Attributes:
        name: The file name, used in messages.
        path: The file's path, which tracebacks of its code name.
        source: The file's text.
        sha256: SHA-256 of the text, which saved models store to recognize the file.
        model: The NumPyro model.
        guide: The file's guide, or None for the default mean-field Gaussian.
        preprocess: ``preprocess(df)``, or None to use the data as read.
        postprocess: ``postprocess(df)``, or None to output the model's columns.
    """

    name: str
    path: str
    source: str
    sha256: str
    model: Callable[..., Any]
    guide: Callable[..., Any] | None
    preprocess: Callable[[Any], Any] | None
    postprocess: Callable[[Any], Any] | None


def source_sha256(source: str) -> str:
    """Return the hex SHA-256 of a model file's text, encoded as UTF-8."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def read_source(path: str | Path) -> str:
    """Return the text of the model file at ``path``, with line endings as ``\\n``.

    Raises:
        ModelCodeError: the file is missing, a folder, or not UTF-8 text.
    """
    path = Path(path)
    if not path.exists():
        raise ModelCodeError(f"model file {str(path)!r} not found; check the path")
    if path.is_dir():
        raise ModelCodeError(f"model file {str(path)!r} is a folder; give a .py file")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ModelCodeError(f"cannot read model file {str(path)!r}: {error}") from None


def load_model_code(path: str | Path, context: FactoryContext | None = None) -> ModelCode:
    """Run the model file at ``path`` and return its checked functions.

    Args:
        path: The ``.py`` file.
        context: What a ``model_factory`` receives; needed only for files that
            define ``model_factory`` instead of ``model``.

    Raises:
        ModelCodeError: the file is missing or unreadable, has a syntax error,
            fails to run, lacks ``model``, or a function has the wrong type or
            signature.
    """
    path = Path(path)
    source = read_source(path)
    namespace = _execute(source, path)
    model, guide = _model_and_guide(namespace, path, context)
    functions = {"model": model, "guide": guide}
    for name in ("preprocess", "postprocess"):
        functions[name] = namespace.get(name)
    for name, function in functions.items():
        if function is not None:
            _check_function(name, function, path)
    return ModelCode(name=path.name, path=str(path), source=source, sha256=source_sha256(source), **functions)


def describe_failure(error: BaseException, path: str, with_message: bool = True) -> str:
    """Return ``"TypeName: message (line N of file.py)"`` for an exception from user code.

    Args:
        error: The exception.
        path: The model file; the line is that of its deepest frame in the traceback.
        with_message: Include the exception's message. Leave it out for code that
            ran on the sensitive data, because the message may quote its values.
    """
    text = type(error).__name__
    if with_message:
        lines = str(error).strip().splitlines()
        if lines:
            message = lines[0] if len(lines[0]) <= MAX_MESSAGE_LENGTH else lines[0][:MAX_MESSAGE_LENGTH] + "..."
            text = f"{text}: {message}"
    line = _user_line(error, path)
    if line is not None:
        text = f"{text} (line {line} of {Path(path).name})"
    return text


# --------------------------------------------------------------------------------------


def _execute(source: str, path: Path) -> dict[str, Any]:
    name = path.name
    try:
        compiled = compile(source, str(path), "exec")
    except SyntaxError as error:
        raise ModelCodeError(
            f"model file {name!r} has a syntax error on line {error.lineno}: {error.msg}; fix the Python code"
        ) from None
    module = types.ModuleType(f"twinify_model_code_{source_sha256(source)[:12]}")
    module.__file__ = str(path)
    try:
        exec(compiled, module.__dict__)  # noqa: S102 - running the user's model file is the point
    except ImportError as error:
        raise ModelCodeError(
            f"model file {name!r} failed to import a module: {describe_failure(error, str(path))}; "
            "install the package or fix the import"
        ) from error
    except Exception as error:
        raise ModelCodeError(
            f"model file {name!r} failed when run: {describe_failure(error, str(path))}"
        ) from error
    return module.__dict__


def _model_and_guide(
    namespace: Mapping[str, Any], path: Path, context: FactoryContext | None
) -> tuple[Callable[..., Any], Callable[..., Any] | None]:
    name = path.name
    guide = namespace.get("guide")
    if "model" in namespace:
        return namespace["model"], guide
    factory = namespace.get("model_factory")
    if factory is None:
        raise ModelCodeError(
            f"model file {name!r} defines no 'model' function; define {EXPECTED_CALLS['model']}"
        )
    _check_function("model_factory", factory, path)
    if context is None:
        raise ModelCodeError(f"model file {name!r} defines model_factory, which needs the data's columns")
    arguments = argparse.Namespace(**dict(context.options))
    try:
        made = factory(arguments, [], DataDescription(context.columns, context.dtypes))
    except Exception as error:
        raise ModelCodeError(
            f"model file {name!r}: model_factory failed: {describe_failure(error, str(path))}"
        ) from error
    if isinstance(made, tuple) and len(made) == 2 and all(callable(item) for item in made):
        return made
    if callable(made) and not isinstance(made, tuple):
        return made, guide
    raise ModelCodeError(
        f"model file {name!r}: model_factory returned {type(made).__name__}; return a model "
        "function or a (model, guide) tuple"
    )


def _check_function(name: str, function: Any, path: Path) -> None:
    if not callable(function):
        raise ModelCodeError(
            f"model file {path.name!r}: {name!r} must be a function, not {type(function).__name__}; "
            f"define {EXPECTED_CALLS[name]}"
        )
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return  # Some callables, such as builtins, have no signature to check.
    for arguments, call in CALL_FORMS[name]:
        try:
            signature.bind(*arguments)
        except TypeError:
            raise ModelCodeError(
                f"model file {path.name!r}: {name}{signature} cannot be called as {call}; "
                f"define {EXPECTED_CALLS[name]}"
            ) from None


def _user_line(error: BaseException, path: str) -> int | None:
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == path:
            line = frame.lineno
    return line
