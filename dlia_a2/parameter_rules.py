"""The rules that relate a notebook's parameters to each other, which a JSON
Schema of one value at a time cannot say: ``short_epochs`` within ``epochs``,
the seeds' list starting with ``seed``, batch sizes the training images can
fill, a validation set that fits, the halving's rungs in order, and the
search within ``budget_tflop`` (its cost counted as
:func:`dlia_a2.search.epoch_flops` counts it). :func:`dlia_a2.parameters.check` applies :data:`RULES` after
the schema.
"""

from __future__ import annotations

from collections.abc import Callable

from dlia_a2.search import epoch_flops, halving_rungs

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


def search_networks(p: dict) -> list[tuple[tuple[int, ...], int]]:
    """The most notebook 3's search may train, as (layer sizes, epochs) per
    training: an upper bound, since a rung's survivors are counted as the
    largest networks of the grid.

    Parameters
    ----------
    p : dict
        Notebook 3's parameters, each checked alone.

    Returns
    -------
    list of (tuple of int, int)
        Stage 1, one network per learning rate and batch size with the first
        width, for ``search_epochs``; then each rung of
        :func:`dlia_a2.search.halving_rungs` over every shape x activation x
        pair, and the finalists' second seed.
    """
    first = (N_PIXELS, p["search_widths"][0], N_CLASSES)
    n_pairs = min(p["search_pairs"], len(p["search_learning_rates"]) * len(p["search_batch_sizes"]))
    stage1 = [(first, p["search_epochs"])] * (len(p["search_learning_rates"]) * len(p["search_batch_sizes"]))
    shapes = [(N_PIXELS, *[w] * d, N_CLASSES) for d in p["search_depths"] for w in p["search_widths"]]
    largest = max(shapes, key=lambda s: epoch_flops(s, 1))
    n = len(shapes) * len(p["search_activations"]) * n_pairs
    rungs = halving_rungs(n, p["halving_min_epochs"], p["halving_max_epochs"], p["halving_eta"], p["halving_finalists"])
    out = stage1 + [(s, rungs[0][1]) for s in shapes for _ in range(len(p["search_activations"]) * n_pairs)]
    out += [(largest, e) for k, e in rungs[1:] for _ in range(k)]
    out += [(largest, p["halving_max_epochs"])] * min(n, p["halving_finalists"]) * (min(2, len(p["seeds"])) - 1)
    return out


def search_tflop(p: dict) -> float:
    """The estimated cost of notebook 3's search.

    Parameters
    ----------
    p : dict
        Notebook 3's parameters, each checked alone.

    Returns
    -------
    float
        TFLOP: each training of :func:`search_networks` on the images the
        search trains on, scored on the ``n_val`` validation images after
        each epoch, counted by :func:`dlia_a2.search.epoch_flops`.
    """
    n_fit = _fit_images(p)
    return sum(e * epoch_flops(s, n_fit, p["n_val"]) for s, e in search_networks(p)) / 1e12


def _search_within_budget(p):
    cost = search_tflop(p)
    if cost > p["budget_tflop"]:
        return (
            "budget_tflop",
            p["budget_tflop"],
            (
                f"at least {cost:.3g}, the estimated TFLOP of the search asked for ({len(search_networks(p))} "
                f"trainings of up to {max(p['search_epochs'], p['halving_max_epochs'])} epochs on "
                f"{_fit_images(p):,} images, up to width {max(p['search_widths'])} and depth "
                f"{max(p['search_depths'])}): shrink search_widths, search_depths, search_epochs or "
                f"halving_max_epochs, or raise budget_tflop"
            ),
        )
    return None


def _halving_epochs_in_order(p):
    if p["halving_min_epochs"] > p["halving_max_epochs"]:
        return (
            "halving_min_epochs",
            p["halving_min_epochs"],
            f"at most halving_max_epochs ({p['halving_max_epochs']}): the first rung is the shortest",
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
        _at_most(
            "dropout_batch_size",
            _fit_images,
            lambda p: f"the {_fit_images(p)} images the regularisation study trains on (n_train, without n_val)",
        ),
        _halving_epochs_in_order,
        _search_within_budget,
    ),
}
