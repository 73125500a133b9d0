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

from collections.abc import Mapping

import mlp_core as mc
from dlia_a2.catalog import DATASET_NAMES
from dlia_a2.parameter_rules import MIN_TRAIN_IMAGES, N_TRAIN_IMAGES, RULES
from dlia_a2.schema import (
    ADDRESS,
    FLAG,
    FORMATS,
    TEXT,
    Validator,
    allowed,
    convert,
    list_of,
    one_of,
    per_dataset,
    real,
    whole,
)

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
            "search_pairs": whole(1),
            "search_widths": list_of(whole(1), distinct=True),
            "search_depths": list_of(whole(1), distinct=True),
            "search_activations": list_of(one_of(mc.ACTIVATIONS), distinct=True),
            "search_init": INIT,
            "halving_min_epochs": EPOCHS,
            "halving_max_epochs": EPOCHS,
            "halving_eta": whole(2),
            "halving_finalists": whole(1),
            # False: the textbook step, which rounds differently (the robustness builds)
            "fused_sgd": FLAG,
            "epochs": EPOCHS,
            "short_epochs": whole(1),
            # distinct: each seed's run has its own checkpoint file
            "seeds": list_of(SEED, distinct=True),
            "seed_epochs": EPOCHS,
            "evaluations_per_epoch": whole(1, 100),
            "reference_hidden_sizes": list_of(whole(1)),
            "reference_learning_rate": LEARNING_RATE,
            "reference_batch_size": whole(1),
            "reference_init": INIT,
            "optimizer_epochs": EPOCHS,
            "regularisation_weight_decay": real(0, 1),
            # the dropout network of Srivastava et al. (2014): layers, drop
            # probabilities, momentum SGD on a cosine schedule
            "dropout_hidden_sizes": list_of(whole(1)),
            "dropout_input": real(0, 0.9, low_included=True),
            "dropout_hidden": real(0, 0.9, low_included=True),
            # each data set's own, chosen on its validation set (bench/robust_probe_results.txt)
            "dropout_learning_rate": per_dataset(LEARNING_RATE, DATASET_NAMES),
            "dropout_batch_size": whole(1),
            "dropout_epochs": EPOCHS,
            # random shifts of the augmented runs, reported apart; under half an image
            "shift_pixels": whole(1, 13),
            # the dropout network's drop probabilities and rate when its input is shifted
            "shift_dropout_input": real(0, 0.9, low_included=True),
            "shift_dropout_hidden": real(0, 0.9, low_included=True),
            "shift_learning_rate": LEARNING_RATE,
            "shift_epochs": EPOCHS,
            # bounds the search's estimated cost before it starts
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
        ``list``, values set per data set as ``dict``.

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
