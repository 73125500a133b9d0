"""The parameters of each notebook: a JSON Schema per notebook, checked with
``jsonschema``, and the few rules that relate parameters to each other.

The report build checks a notebook's parameters with :func:`check` before
papermill starts it (``report/report_build.py run``; the parameter file
itself is read by :mod:`dlia_a2.parameter_file`), and the notebook calls the
same function in the cell after its ``parameters`` cell, so that a notebook
opened by hand stops at once on a value it cannot use::

    params = parameters.check("2_one_layer")

Every refusal is a :class:`ParameterError` naming where the value came from
(the parameter file, the command line, or the notebook), the parameter, its
value and what is allowed; the words for what is allowed are read from the
schema, so they cannot drift from what is checked. The defaults stay in the
notebooks' ``parameters`` cells, where papermill reads them;
``tests/test_parameters.py`` holds the names declared here equal to the
names in those cells.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import mlp_core as mc
from dlia_a2.catalog import DATASET_NAMES
from dlia_a2.schema import ADDRESS, FORMATS, TEXT, Validator, allowed, convert, list_of, one_of, real, whole
from dlia_a2.search import epoch_flops

# training images in MNIST and in Fashion-MNIST alike (tests/test_parameters.py
# holds this to the sizes in dlia_a2.catalog.SPECS)
N_TRAIN_IMAGES = 60_000
N_TEST_IMAGES = 10_000  # the test set of every data set, whole in every notebook
# pixels of an image and classes, in both data sets: the ends of every network
N_PIXELS, N_CLASSES = 784, 10
# the smallest training subset a notebook takes: about 100 images a class, so
# that a seeded subset holds every class (one missing would, for instance, give
# notebook 2's nearest-centroid classifier a NaN centroid)
MIN_TRAIN_IMAGES = 1_000
SEED_MAX = 2**32 - 1


class ParameterError(ValueError):
    """A notebook parameter, or a parameter file, that cannot be used; the
    message names where it came from, the parameter, its value and what is
    allowed."""

    def __init__(self, message: str, source: str = "", name: str = "", value=None):
        super().__init__(message)
        self.source = source  # the parameter file, the command line or the notebook
        self.name = name
        self.value = value


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def refuse(source: str, name: str, value, what: str) -> ParameterError:
    """The one form of every refusal: ``source: name = value is not
    allowed; name must be what``.

    Parameters
    ----------
    source : str
        Where the value came from: a parameter file, an option of the
        command line, or the notebook (empty: not said).
    name : str
        The parameter.
    value : object
        Its value, shown (cut at 80 characters).
    what : str
        What is allowed, e.g. ``"a whole number, 1 or more"``.

    Returns
    -------
    ParameterError
        To raise.
    """
    where = f"{source}: " if source else ""
    return ParameterError(f"{where}{name} = {_show(value)} is not allowed; {name} must be {what}", source, name, value)


SEED = whole(0, SEED_MAX)
DATASET = one_of(DATASET_NAMES)
N_TRAIN = whole(MIN_TRAIN_IMAGES, N_TRAIN_IMAGES, also=0, note="(all training images)")
LEARNING_RATE = real(0)
EPOCHS = whole(1)
INIT = one_of(mc.INITIALIZATIONS)


# --- the schemas ------------------------------------------------------------------


def _schema(notebook: str, properties: dict) -> dict:
    """A notebook's schema: its parameters, in the order of its
    ``parameters`` cell, each required; other names (the rest of a kernel's
    namespace) are not looked at."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"the parameters of notebooks/{notebook}.ipynb",
        "type": "object",
        "properties": properties,
        "required": list(properties),
    }


SCHEMAS: dict[str, dict] = {
    "1_partial_derivatives": _schema(
        "1_partial_derivatives",
        {
            "dataset": DATASET,
            "n_samples": whole(1, N_TRAIN_IMAGES),
            # the pairs are drawn without repeats among the pixels lit in the
            # images drawn, and one training image lights as few as 34 (MNIST)
            # or 54 (Fashion-MNIST)
            "n_pairs": whole(1, 30),
            "seed": SEED,
            # h > 0 (h = 0 divides by zero); above 1 a difference quotient
            # measures nothing and the cost can overflow
            "step": real(0, 1),
            "out_dir": TEXT,
        },
    ),
    "2_one_layer": _schema(
        "2_one_layer",
        {
            "dataset": DATASET,
            "learning_rate": LEARNING_RATE,
            "batch_size": whole(1),
            "epochs": EPOCHS,
            "init": INIT,
            "n_train": N_TRAIN,
            "eval_every": whole(1),
            "seed": SEED,
            "out_dir": TEXT,
        },
    ),
    "3_multilayer": _schema(
        "3_multilayer",
        {
            "dataset": DATASET,
            "n_train": whole(MIN_TRAIN_IMAGES, N_TRAIN_IMAGES - 100, also=0, note="(all but n_val)"),
            # validation accuracies on fewer images cannot tell configurations apart
            "n_val": whole(100, N_TRAIN_IMAGES - MIN_TRAIN_IMAGES),
            "search_epochs": EPOCHS,
            # increasing: the notebook compares the first value with the last as the
            # smallest with the largest
            "search_learning_rates": list_of(LEARNING_RATE, increasing=True),
            "search_batch_sizes": list_of(whole(1), increasing=True),
            "search_widths": list_of(whole(1), distinct=True),
            "search_depths": list_of(whole(1), distinct=True),
            "search_activations": list_of(one_of(mc.ACTIVATIONS), distinct=True),
            "search_init": INIT,
            "epochs": EPOCHS,
            "short_epochs": whole(1),
            # distinct: each seed's run has its own checkpoint file
            "seeds": list_of(SEED, distinct=True),
            "seed_epochs": whole(1),
            "reference_hidden_sizes": list_of(whole(1)),
            "reference_learning_rate": LEARNING_RATE,
            "reference_batch_size": whole(1),
            "reference_init": INIT,
            "optimizer_epochs": EPOCHS,
            "regularisation_epochs": EPOCHS,
            # the probability of dropping a hidden unit, and the L2 coefficient
            "regularisation_dropout": real(0, 0.9),
            "regularisation_weight_decay": real(0, 1),
            # bounds the chosen network's long run and, before it starts, the search
            "budget_tflop": real(0),
            # processes forked side by side; each holds its own copy of a network
            "workers": whole(1, 32),
            # a Dask scheduler to run the trainings on ('' : on this machine)
            "scheduler": ADDRESS,
            "seed": SEED,
            "out_dir": TEXT,
        },
    ),
}


# --- rules between parameters -----------------------------------------------------
#
# Each rule looks at the values already checked one by one and returns
# (name, value, what is allowed) for the first parameter it refuses, or None.

Rule = Callable[[dict], "tuple[str, object, str] | None"]


def _at_most(name: str, limit: Callable[[dict], int], why: Callable[[dict], str]) -> Rule:
    def rule(p):
        value = p[name]
        many = isinstance(value, list)
        if (max(value) if many else value) > limit(p):
            return name, value, f"{'a list of values each ' if many else ''}at most {limit(p)}, {why(p)}"
        return None

    return rule


def _between_1_and_epochs(name: str) -> Rule:
    def rule(p):
        if not 1 <= p[name] <= p["epochs"]:
            return name, p[name], f"a whole number from 1 to epochs ({p['epochs']})"
        return None

    return rule


def _images_for(p: dict) -> int:
    """Training images notebook 2 uses."""
    return p["n_train"] or N_TRAIN_IMAGES


def _fit_images(p: dict) -> int:
    """Images notebook 3 trains the search on (the validation set held out)."""
    return p["n_train"] or N_TRAIN_IMAGES - p["n_val"]


def _n_val_fits(p):
    if p["n_train"] and p["n_train"] + p["n_val"] > N_TRAIN_IMAGES:
        return (
            "n_val",
            p["n_val"],
            (
                f"at most {N_TRAIN_IMAGES - p['n_train']}: n_train ({p['n_train']}) + n_val must not exceed the "
                f"{N_TRAIN_IMAGES:,} training images"
            ),
        )
    return None


def _seeds_start_with_seed(p):
    if p["seeds"][0] != p["seed"]:
        return "seeds", p["seeds"], f"a list that starts with seed ({p['seed']}): the run read at both points"
    return None


def search_networks(p: dict) -> list[tuple[int, ...]]:
    """The layer sizes of every network notebook 3's two-stage search may
    train.

    Parameters
    ----------
    p : dict
        Notebook 3's parameters, each checked alone.

    Returns
    -------
    list of tuple of int
        Stage 1, one network per learning rate and batch size with the first
        width; then stage 2, every depth and width for each activation (one
        of which stage 1 trained already: counted again, an upper bound).
    """
    first = (N_PIXELS, p["search_widths"][0], N_CLASSES)
    stage1 = [first] * (len(p["search_learning_rates"]) * len(p["search_batch_sizes"]))
    shapes = [(N_PIXELS, *[w] * d, N_CLASSES) for d in p["search_depths"] for w in p["search_widths"]]
    return stage1 + shapes * len(p["search_activations"])


def search_tflop(p: dict) -> float:
    """The estimated cost of notebook 3's search.

    Parameters
    ----------
    p : dict
        Notebook 3's parameters, each checked alone.

    Returns
    -------
    float
        TFLOP: each network of :func:`search_networks` trained
        ``search_epochs`` epochs on the images the search trains on and
        scored on the ``n_val`` validation images after each, counted by
        :func:`dlia_a2.search.epoch_flops` as the long run's budget is.
    """
    n_fit = _fit_images(p)
    return sum(p["search_epochs"] * epoch_flops(s, n_fit, p["n_val"]) for s in search_networks(p)) / 1e12


def _search_within_budget(p):
    cost = search_tflop(p)
    if cost > p["budget_tflop"]:
        return (
            "budget_tflop",
            p["budget_tflop"],
            (
                f"at least {cost:.3g}, the estimated TFLOP of the search asked for ({len(search_networks(p))} "
                f"trainings of {p['search_epochs']} epochs on {_fit_images(p):,} images, up to width "
                f"{max(p['search_widths'])} and depth {max(p['search_depths'])}): shrink search_widths, "
                f"search_depths or search_epochs, or raise budget_tflop"
            ),
        )
    return None


def _long_run_within_budget(p):
    """The long run of the cheapest network searched must fit the budget, or
    :func:`dlia_a2.search.two_stage_search` has nothing it may choose."""
    n_all = _fit_images(p) + p["n_val"]
    cheapest = min(search_networks(p), key=lambda s: epoch_flops(s, n_all, n_all + N_TEST_IMAGES))
    cost = p["epochs"] * epoch_flops(cheapest, n_all, n_all + N_TEST_IMAGES) / 1e12
    if cost > p["budget_tflop"]:
        return (
            "budget_tflop",
            p["budget_tflop"],
            (
                f"at least {cost:.3g}, the TFLOP of the long run ({p['epochs']} epochs on {n_all:,} images) of "
                f"the cheapest network searched, {'-'.join(map(str, cheapest))}: raise budget_tflop, lower epochs "
                f"or search smaller networks"
            ),
        )
    return None


RULES: dict[str, tuple[Rule, ...]] = {
    "1_partial_derivatives": (),
    "2_one_layer": (
        _at_most("batch_size", _images_for, lambda p: f"the number of training images (n_train = {p['n_train']})"),
    ),
    "3_multilayer": (
        _n_val_fits,
        _between_1_and_epochs("short_epochs"),
        _between_1_and_epochs("seed_epochs"),
        _seeds_start_with_seed,
        _at_most(
            "search_batch_sizes",
            _fit_images,
            lambda p: f"the {_fit_images(p)} images the search trains on (n_train, without n_val)",
        ),
        _at_most(
            "reference_batch_size",
            lambda p: _fit_images(p) + p["n_val"],
            lambda p: f"the {_fit_images(p) + p['n_val']} images of the long runs (n_train and n_val)",
        ),
        _search_within_budget,
        _long_run_within_budget,
    ),
}


# --- the check --------------------------------------------------------------------


def schema(notebook: str) -> dict:
    """The JSON Schema of a notebook's parameters.

    Parameters
    ----------
    notebook : str
        The notebook's file name without ``.ipynb``.

    Returns
    -------
    dict
        The schema; its ``"properties"`` list the parameters in the order of
        the notebook's ``parameters`` cell.

    Raises
    ------
    KeyError
        For a notebook without declared parameters.
    """
    if notebook not in SCHEMAS:
        raise KeyError(
            f"no parameters are declared for notebook {notebook!r}; declare them in dlia_a2/parameters.py "
            f"(declared: {', '.join(SCHEMAS)})"
        )
    return SCHEMAS[notebook]


def check(notebook: str, namespace: Mapping | None = None, sources: Mapping[str, str] | None = None) -> dict:
    """Check every declared parameter of ``notebook`` and return them.

    Parameters
    ----------
    notebook : str
        The notebook's file name without ``.ipynb``, e.g. ``"2_one_layer"``.
    namespace : mapping, optional
        Where the values are: the parsed parameter file with the command
        line's values and the notebook's defaults (the report build), or by
        default the user namespace of the running IPython kernel (a
        notebook's own cell). Names that are not parameters are ignored.
    sources : mapping, optional
        ``{name: where its value came from}`` (a parameter file, an option
        of the command line), named in a refusal; a name not in it is the
        notebook's own.

    Returns
    -------
    dict
        ``{name: value}`` for every declared parameter, in the declared
        order; numbers declared as numbers come back as ``float``, lists as
        ``list``.

    Raises
    ------
    ParameterError
        For the first parameter that is missing or not allowed, alone or
        with the others.
    """
    properties = schema(notebook)["properties"]
    if namespace is None:
        namespace = _kernel_namespace()
    sources = sources or {}
    missing = [name for name in properties if name not in namespace]
    if missing:
        name = missing[0]
        raise ParameterError(
            f"{notebook}: parameter {name} is not set; it must be {allowed(properties[name])}", notebook, name
        )
    values = {name: namespace[name] for name in properties}
    wrong = {error.path[0] for error in Validator(schema(notebook), format_checker=FORMATS).iter_errors(values)}
    for name in properties:  # the first wrong one in the declared order
        if name in wrong:
            raise refuse(sources.get(name, notebook), name, values[name], allowed(properties[name]))
    out = {name: convert(properties[name], value) for name, value in values.items()}
    for rule in RULES[notebook]:
        found = rule(out)
        if found is not None:
            raise refuse(sources.get(found[0], notebook), *found)
    return out


def _kernel_namespace() -> Mapping:
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = lambda: None
    shell = get_ipython()
    if shell is None:
        raise RuntimeError("check(notebook) without a namespace reads the running notebook's variables; pass one")
    return shell.user_ns
