"""Custom NumPyro model files for the tests, written to twinify 2.0.0's contract.

Each constant is the text of a model file. The valid ones follow the forms that
twinify 2.x users wrote: a model that returns its sample site, a model that
returns stacked sites with preprocess and postprocess, a ``model_factory``, a
hand-written guide and an automatic guide. ``BAD_MODELS`` maps each way a model
file can be wrong to its text and a part of the expected error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HEADER = """\
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints
"""

#: Two real columns; model(x) observes site "x" and returns it (2.x's usual form).
GAUSS = HEADER + """

def model(z=None, num_obs_total=None):
    rows = 1 if z is None else z.shape[0]
    loc = numpyro.sample("loc", dist.Normal(0.0, 5.0).expand([2]).to_event(1))
    scale = numpyro.sample("scale", dist.LogNormal(0.0, 1.0).expand([2]).to_event(1))
    with numpyro.plate("rows", num_obs_total or rows, subsample_size=rows):
        return numpyro.sample("x", dist.Normal(loc, scale).to_event(1), obs=z)
"""

#: A labelled column mapped to 0/1 by preprocess and back by postprocess; the
#: model observes two sites and returns them stacked.
LABELS = HEADER + """

def preprocess(df):
    out = df[["score", "group"]].copy()
    out["group"] = out["group"].map({"low": 0, "high": 1})
    return out


def postprocess(df):
    df["group"] = df["group"].map({0: "low", 1: "high"})
    return df


def model(x=None, num_obs_total=None):
    rows = 1 if x is None else x.shape[0]
    mu = numpyro.sample("mu", dist.Normal(0.0, 10.0))
    sigma = numpyro.sample("sigma", dist.LogNormal(0.0, 1.0))
    high = numpyro.sample("high", dist.Beta(1.0, 1.0))
    with numpyro.plate("rows", num_obs_total or rows, subsample_size=rows):
        score = numpyro.sample("score", dist.Normal(mu, sigma), obs=None if x is None else x[:, 0])
        group = numpyro.sample("group", dist.Bernoulli(high), obs=None if x is None else x[:, 1])
    return jnp.stack([score, group], axis=-1)
"""

#: twinify 2.0.0's model_factory(args, unknown_args, data_description).
FACTORY = HEADER + """

def model_factory(args, unknown_args, data_description):
    assert args.epsilon > 0
    assert unknown_args == []
    width = data_description.num_columns

    def model(x=None, num_obs_total=None):
        rows = 1 if x is None else x.shape[0]
        loc = numpyro.sample("loc", dist.Normal(0.0, 5.0).expand([width]).to_event(1))
        with numpyro.plate("rows", num_obs_total or rows, subsample_size=rows):
            return numpyro.sample("x", dist.Normal(loc, 1.0).to_event(1), obs=x)

    return model
"""

#: GAUSS with a hand-written mean-field guide.
GUIDED = GAUSS + """

def guide(z=None, num_obs_total=None):
    loc_mean = numpyro.param("loc_mean", jnp.zeros(2))
    loc_std = numpyro.param("loc_std", 0.1 * jnp.ones(2), constraint=constraints.positive)
    scale_mean = numpyro.param("scale_mean", jnp.zeros(2))
    scale_std = numpyro.param("scale_std", 0.1 * jnp.ones(2), constraint=constraints.positive)
    numpyro.sample("loc", dist.Normal(loc_mean, loc_std).to_event(1))
    numpyro.sample("scale", dist.LogNormal(scale_mean, scale_std).to_event(1))
"""

#: GAUSS with numpyro's automatic guide.
AUTOGUIDED = GAUSS + """
from numpyro.infer.autoguide import AutoDiagonalNormal

guide = AutoDiagonalNormal(model)
"""

VALID_MODELS = {"gauss": GAUSS, "labels": LABELS, "factory": FACTORY, "guided": GUIDED, "autoguided": AUTOGUIDED}

#: Ways a model file can be wrong: (file text, part of the one-line error).
BAD_MODELS = {
    "syntax error": ("def model(x=None, num_obs_total=None)\n    pass\n", "syntax error on line 1"),
    "import error": ("import twinify_no_such_module\n", "No module named 'twinify_no_such_module'"),
    "failing module": ("raise RuntimeError('broken on purpose')\n", "RuntimeError: broken on purpose (line 1"),
    "no model": ("def preprocess(df):\n    return df\n", "defines no 'model' function"),
    "model not callable": ("model = 42\n", "'model' must be a function, not int"),
    "model signature": ("def model(x, num_obs_total):\n    pass\n", "cannot be called as model()"),
    "guide not callable": (GAUSS + "guide = 'auto'\n", "'guide' must be a function, not str"),
    "guide signature": (GAUSS + "def guide(a, b):\n    pass\n", "cannot be called as guide(x)"),
    "guide misses latent": (
        GAUSS + "def guide(z=None, num_obs_total=None):\n"
        "    m = numpyro.param('m', jnp.zeros(2))\n"
        "    numpyro.sample('loc', dist.Normal(m, 1.0).to_event(1))\n",
        "does not draw latent variable 'scale'",
    ),
    "preprocess raises": (
        GAUSS + "def preprocess(df):\n    return df['no_such_column']\n",
        "preprocess(df) failed on the data: KeyError",
    ),
    "preprocess uses statistics": (
        GAUSS + "def preprocess(df):\n    return (df - df.mean()) / 5.0\n",
        "preprocess does not transform each row on its own",
    ),
    "preprocess returns array": (
        GAUSS + "def preprocess(df):\n    return df.to_numpy()\n",
        "preprocess(df) returned ndarray",
    ),
    "postprocess raises": (
        GAUSS + "def postprocess(df):\n    raise ValueError('no output')\n",
        "postprocess(df) failed on generated rows: ValueError: no output",
    ),
    "postprocess returns list": (GAUSS + "def postprocess(df):\n    return [1, 2]\n", "postprocess(df) returned list"),
    "postprocess repeats column": (
        GAUSS + "def postprocess(df):\n    return df[['a', 'a']]\n",
        "postprocess(df) returned column 'a' twice",
    ),
    "postprocess drops rows": (
        GAUSS + "def postprocess(df):\n    return df.iloc[:1]\n",
        "postprocess(df) returned 1 rows",
    ),
    "model fails when traced": (
        GAUSS.replace("rows = 1 if z is None else z.shape[0]", "rows = 1 if z is None else z.shape[5]"),
        "model(x) failed when traced",
    ),
    "model returns wrong shape": (
        GAUSS.replace("return numpyro.sample", "numpyro.sample") + "    return jnp.zeros((1, 3))\n",
        "returned an array of shape (1, 3)",
    ),
    "model has no latent": (
        HEADER + "def model(x=None, num_obs_total=None):\n"
        "    with numpyro.plate('rows', 1 if x is None else x.shape[0]):\n"
        "        return numpyro.sample('x', dist.Normal(0.0, 1.0).expand([2]).to_event(1), obs=x)\n",
        "no latent variables",
    ),
}


def gauss_data(num_rows: int = 120, seed: int = 0) -> pd.DataFrame:
    """Return two real columns: a ~ N(1, 0.5) and b ~ N(-1, 2)."""
    generator = np.random.default_rng(seed)
    return pd.DataFrame({"a": generator.normal(1.0, 0.5, num_rows), "b": generator.normal(-1.0, 2.0, num_rows)})


def labels_data(num_rows: int = 120, seed: int = 0) -> pd.DataFrame:
    """Return a real score, a low/high group and an unused column."""
    generator = np.random.default_rng(seed)
    return pd.DataFrame({
        "score": generator.normal(3.0, 1.0, num_rows),
        "group": generator.choice(["low", "high"], num_rows, p=[0.7, 0.3]),
        "extra": np.arange(num_rows),
    })
