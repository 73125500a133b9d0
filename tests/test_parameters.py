"""Notebook parameters: declared once (dlia_a2/parameters.py), read from
YAML 1.2 files, and checked before any work starts."""

import ast
import json
import math
import re
import time
from pathlib import Path

import papermill as pm
import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

import report_build
import report_run
from dlia_a2 import catalog, parameter_file, parameter_rules, parameters
from dlia_a2.parameters import ParameterError
from dlia_a2.schema import Validator

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {p.stem: p for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
CONFIGS = sorted((ROOT / "report" / "config").glob("*/*.yaml"))


def defaults(notebook: str) -> dict:
    found = pm.inspect_notebook(str(NOTEBOOKS[notebook]))
    return {k: ast.literal_eval(v["default"]) for k, v in found.items()}


def check_file(tmp_path, notebook: str, text: str, dataset: str = "mnist") -> dict:
    """What the runner does before papermill starts, on a file holding ``text``."""
    path = tmp_path / f"{notebook}.yaml"
    path.write_text(text, encoding="utf-8")
    return report_run.checked_parameters(NOTEBOOKS[notebook], path, dataset, "build/x")


# --- one declaration, the same names as the notebooks ---------------------------


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_declared_names_are_the_names_of_the_parameters_cell(notebook):
    """The declarations and the notebooks cannot drift apart."""
    in_cell = list(pm.inspect_notebook(str(NOTEBOOKS[notebook])))
    assert list(parameters.schema(notebook)["properties"]) == in_cell


def test_every_notebook_is_declared():
    assert sorted(parameters.SCHEMAS) == sorted(NOTEBOOKS)
    with pytest.raises(KeyError, match="no parameters are declared for notebook '4_extra'"):
        parameters.check("4_extra", {})


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_each_notebook_has_a_valid_json_schema(notebook):
    declared = parameters.schema(notebook)
    Validator.check_schema(declared)
    assert json.loads(json.dumps(declared)) == declared  # it could be a .json file as it is


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_defaults_pass_their_check(notebook):
    assert parameters.check(notebook, defaults(notebook)) == defaults(notebook)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_report_configurations_pass_their_check(config):
    checked = report_run.checked_parameters(NOTEBOOKS[config.stem], config, "fashion-mnist", "out")
    assert checked["dataset"] == "fashion-mnist" and checked["out_dir"] == "out"


@pytest.mark.data
def test_n_pairs_leaves_enough_lit_pixels_in_any_one_image(mnist):
    """Notebook 1 draws its pairs without repeats among the lit pixels of
    its images; with n_samples = 1 there are as few as one image lights."""
    fewest = int((mnist.x_train > 0).sum(axis=1).min())
    assert parameters.schema("1_partial_derivatives")["properties"]["n_pairs"]["maximum"] <= fewest == 34


def test_training_images_are_those_of_every_data_set():
    for spec in catalog.SPECS.values():
        _, _, size = spec.files["train-images"]
        assert (size - 16) // 784 == parameter_rules.N_TRAIN_IMAGES


# --- what the issue found -------------------------------------------------------

REFUSED = [
    ("2_one_layer", "epochs: 0", "FILE: epochs = 0 is not allowed; epochs must be a whole number, 1 or more"),
    (
        "1_partial_derivatives",
        "step: 0",
        "FILE: step = 0 is not allowed; step must be a finite number greater than 0 and at most 1",
    ),
    (
        "1_partial_derivatives",
        "n_pairs: twelve",
        "FILE: n_pairs = 'twelve' is not allowed; n_pairs must be a whole number from 1 to 30",
    ),
    (
        "1_partial_derivatives",
        "n_samples: 70000",
        "FILE: n_samples = 70000 is not allowed; n_samples must be a whole number from 1 to 60000",
    ),
    (
        "3_multilayer",
        "workers: 0",
        "FILE: workers = 0 is not allowed; workers must be a whole number from 1 to 32",
    ),
    (
        "3_multilayer",
        "epochs: 3\nshort_epochs: 4",
        "FILE: short_epochs = 4 is not allowed; short_epochs must be a whole number from 1 to epochs (3)",
    ),
    (
        "3_multilayer",
        "halving_min_epochs: 5\nhalving_max_epochs: 3",
        "FILE: halving_min_epochs = 5 is not allowed; halving_min_epochs must be at most halving_max_epochs (3): the "
        "first rung is the shortest",
    ),
    (
        "3_multilayer",
        "fused_sgd: 1",
        "FILE: fused_sgd = 1 is not allowed; fused_sgd must be true or false",
    ),
    (
        "3_multilayer",
        "seed: 1\nseeds: [0, 1, 2]",
        "FILE: seeds = [0, 1, 2] is not allowed; seeds must be a list that starts with seed (1): the run "
        "read at both points",
    ),
    (
        "2_one_layer",
        "learning_rate: 1e-1\nlearning_rate: 0.2",
        'FILE, line 2: found duplicate key "learning_rate" with value "0.2" (original value: "0.1"); give each '
        "parameter once",
    ),
    (
        "2_one_layer",
        "dataset: fashion-mnist",
        "FILE: dataset is set on the command line, with --dataset (make report DATASET=...), not in a parameter "
        "file; remove it from the file",
    ),
    (
        "3_multilayer",
        "out_dir: elsewhere",
        "FILE: out_dir is set on the command line, with --out-dir (by default a folder beside --output), not in a "
        "parameter file; remove it from the file",
    ),
    (
        "2_one_layer",
        "learning_rate: 0.1\nlearnig_rate: 0.2",
        "FILE: unknown parameter(s) ['learnig_rate'] for 2_one_layer.ipynb; it declares ['batch_size', 'dataset', "
        "'epochs', 'eval_every', 'init', 'learning_rate', 'n_train', 'out_dir', 'seed']",
    ),
    (
        "3_multilayer",
        "n_train: 50000\nn_val: 20000",
        "FILE: n_val = 20000 is not allowed; n_val must be at most 10000: n_train (50000) + n_val must not "
        "exceed the 60,000 training images",
    ),
    (
        "3_multilayer",
        "search_batch_sizes: [128, 32]",
        "FILE: search_batch_sizes = [128, 32] is not allowed; search_batch_sizes must be a list of 1 or more "
        "values, each a whole number, 1 or more, in increasing order",
    ),
    (
        "2_one_layer",
        "n_train: 1000\nbatch_size: 2000",
        "FILE: batch_size = 2000 is not allowed; batch_size must be at most 1000, the number of training "
        "images (n_train = 1000)",
    ),
    (
        "3_multilayer",
        "scheduler: localhost:8786",
        "FILE: scheduler = 'localhost:8786' is not allowed; scheduler must be '' or an address such as "
        "'tcp://host:8786', its port (if given) from 1 to 65535",
    ),
    ("2_one_layer", "- 1\n- 2", "FILE must be a mapping of parameter: value, got a list"),
    ("2_one_layer", "epochs: [1, 2", "FILE, line 2 is not valid YAML: expected ',' or ']', but got '<stream end>'"),
    # JSON Schema's integer takes 2.0, and its number infinity: not here
    ("2_one_layer", "epochs: 2.0", "FILE: epochs = 2.0 is not allowed; epochs must be a whole number, 1 or more"),
    ("2_one_layer", "epochs: true", "FILE: epochs = True is not allowed; epochs must be a whole number, 1 or more"),
    (
        "3_multilayer",
        "budget_tflop: .inf",
        "FILE: budget_tflop = inf is not allowed; budget_tflop must be a finite number greater than 0",
    ),
    # issue 21: a file that sets nothing ran the notebook's defaults as the configuration
    (
        "2_one_layer",
        "",
        "FILE sets no parameter of 2_one_layer.ipynb, so its defaults (a quick trial) would run in place of a "
        "configuration; set at least one of ['learning_rate', 'batch_size', 'epochs', 'init', 'n_train', "
        "'eval_every', 'seed']",
    ),
    (
        "2_one_layer",
        "# comments only\n# nothing else",
        "FILE sets no parameter of 2_one_layer.ipynb, so its defaults (a quick trial) would run in place of a "
        "configuration; set at least one of ['learning_rate', 'batch_size', 'epochs', 'init', 'n_train', "
        "'eval_every', 'seed']",
    ),
    (
        "3_multilayer",
        "{}",
        "FILE sets no parameter of 3_multilayer.ipynb, so its defaults (a quick trial) would run in place of a "
        "configuration; set at least one of "
        + str([n for n in parameters.schema("3_multilayer")["properties"] if n not in ("dataset", "out_dir")]),
    ),
    ("3_multilayer", "<<: {epochs: 3}\nepochs: 200", "FILE, line 1: MERGE"),
    ("3_multilayer", "epochs: 200\n<<: {epochs: 3}", "FILE, line 2: MERGE"),
    (
        "3_multilayer",
        "dropout_learning_rate: {mnist: 0.1}",
        "FILE: dropout_learning_rate = {'mnist': 0.1} is not allowed; dropout_learning_rate must be a mapping from "
        "each data set ('mnist', 'fashion-mnist') to a finite number greater than 0",
    ),
    (
        "3_multilayer",
        "dropout_learning_rate: 0.1",
        "FILE: dropout_learning_rate = 0.1 is not allowed; dropout_learning_rate must be a mapping from "
        "each data set ('mnist', 'fashion-mnist') to a finite number greater than 0",
    ),
    ("3_multilayer", "scheduler: tcp://localhost:99999", "FILE: scheduler = 'tcp://localhost:99999' PORT"),
    ("3_multilayer", "scheduler: tcp://localhost:0", "FILE: scheduler = 'tcp://localhost:0' PORT"),
    (
        "3_multilayer",
        "search_widths: [100, 300, 1000, 4000, 8000]",
        "FILE (not set there, so the default of 3_multilayer.ipynb): budget_tflop = 5.0 is not allowed; budget_tflop "
        "must be at least 117, the estimated TFLOP of the search asked for (60 trainings of up to 3 epochs on 5,000 "
        "images, up to width 8000 and depth 2): shrink search_widths, search_depths, search_epochs or "
        "halving_max_epochs, or raise budget_tflop",
    ),
]


@pytest.mark.parametrize("notebook,text,message", REFUSED, ids=[f"{n[0]}: {n[1]}" for n in REFUSED])
def test_bad_parameter_file_is_refused_naming_what_is_allowed(tmp_path, notebook, text, message):
    with pytest.raises(ParameterError) as e:
        check_file(tmp_path, notebook, text + "\n")
    merge = (
        "a merge key (<<) is not allowed in a parameter file: it sets parameters beside the file's own without a "
        "word; write each parameter once, as key: value"
    )
    port = (
        "is not allowed; scheduler must be '' or an address such as 'tcp://host:8786', its port (if given) from 1 "
        "to 65535"
    )
    message = message.replace("MERGE", merge).replace("PORT", port)
    assert str(e.value) == message.replace("FILE", str(tmp_path / f"{notebook}.yaml"))


def test_search_cost_is_bounded_before_it_starts(tmp_path):
    """budget_tflop bounds the search before it starts, every rung of the
    halving counted at the largest network: the full configuration passes,
    the same with wide networks does not."""
    full = (ROOT / "report" / "config" / "full" / "3_multilayer.yaml").read_text()
    assert check_file(tmp_path, "3_multilayer", full)["budget_tflop"] == 40.0
    wide = full.replace("search_widths: [100, 300]", "search_widths: [100, 300, 1000, 4000, 8000]")
    with pytest.raises(ParameterError) as e:
        check_file(tmp_path, "3_multilayer", wide)
    assert str(e.value).startswith(
        f"{tmp_path / '3_multilayer.yaml'}: budget_tflop = 40.0 is not allowed; budget_tflop must be at least "
        "3.47e+03, the estimated TFLOP of the search asked for (102 trainings of up to 9 epochs on 50,000 images"
    )
    small = {**parameter_file.read(ROOT / "report" / "config" / "small" / "3_multilayer.yaml"), "n_val": 500}
    # stage 1: 2 learning rates x 2 batch sizes, 2 epochs; the halving: 1 width x 2 depths x 2 activations x 2
    # pairs for 1 epoch, then the best 4 for 2 (counted as the largest network), then the 2 finalists' second seed
    one, two = (784, 32, 10), (784, 32, 32, 10)
    assert parameter_rules.search_networks(small) == (
        [(one, 2)] * 4 + [(one, 1)] * 4 + [(two, 1)] * 4 + [(two, 2)] * 4 + [(two, 2)] * 2
    )
    # per image of 3,000 trained and 500 scored: 102,272 and 50,816 flops (784-32-10), 108,416 and 52,864
    # (784-32-32-10)
    one_epoch = {one: 102_272 * 3000 + 50_816 * 500, two: 108_416 * 3000 + 52_864 * 500}
    assert parameter_rules.search_tflop(small) == pytest.approx(
        (12 * one_epoch[one] + 16 * one_epoch[two]) / 1e12, rel=1e-12
    )


def test_numbers_are_read_as_yaml_1_2_reads_them(tmp_path):
    """PyYAML (YAML 1.1) read 1e-1 as a string, and yes as true."""
    checked = check_file(tmp_path, "2_one_layer", "learning_rate: 1e-1\nepochs: 0x2\n")
    assert checked["learning_rate"] == 0.1 and checked["epochs"] == 2
    with pytest.raises(ParameterError, match="init = 'yes' is not allowed; init must be one of 'normal'"):
        check_file(tmp_path, "2_one_layer", "init: yes\n")


def test_runner_refuses_before_papermill_starts(tmp_path, monkeypatch):
    def execute_notebook(*args, **kwargs):
        raise AssertionError("papermill started")

    monkeypatch.setattr(pm, "execute_notebook", execute_notebook)
    params = tmp_path / "p.yaml"
    params.write_text("epochs: 0\n")
    output = tmp_path / "out.ipynb"
    with pytest.raises(ParameterError, match="epochs = 0 is not allowed"):
        report_run.run_notebook(NOTEBOOKS["2_one_layer"], params, output, str(tmp_path), "mnist")
    assert report_build.main(["run", str(NOTEBOOKS["2_one_layer"]), "--params", str(params), "--output", str(output)])
    assert not list(tmp_path.glob("out*"))


def test_check_command_checks_every_file_before_anything_runs(tmp_path, capsys):
    bad = tmp_path / "3.yaml"
    bad.write_text("workers: 0\n")
    small = ROOT / "report" / "config" / "small"
    args = ["check", *map(str, NOTEBOOKS.values()), "--params"]
    assert report_build.main(
        args + [str(small / "1_partial_derivatives.yaml"), str(small / "2_one_layer.yaml"), str(bad)]
    )
    assert f"error: {bad}: workers = 0 is not allowed" in capsys.readouterr().err
    assert not report_build.main(args + [str(small / f"{n}.yaml") for n in NOTEBOOKS])


def test_notebook_checks_its_own_namespace_when_run_by_hand(monkeypatch):
    """``params = parameters.check("2_one_layer")`` in a notebook reads the
    kernel's variables."""
    import IPython

    class Shell:
        user_ns = {**defaults("2_one_layer"), "epochs": 0, "np": object()}

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell)
    with pytest.raises(ParameterError, match="2_one_layer: epochs = 0 is not allowed"):
        parameters.check("2_one_layer")
    Shell.user_ns["epochs"] = 3
    assert parameters.check("2_one_layer") == {**defaults("2_one_layer"), "epochs": 3}
    del Shell.user_ns["init"]
    with pytest.raises(ParameterError, match="2_one_layer: parameter init is not set; it must be one of 'normal'"):
        parameters.check("2_one_layer")
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    with pytest.raises(RuntimeError, match="pass one"):
        parameters.check("2_one_layer")


# --- random parameter files (hypothesis) ----------------------------------------

scalars = st.one_of(
    st.integers(-(2**40), 2**40).map(str),
    st.sampled_from(["0", "1", "-1", "2", "3", "30", "31", "100", "999", "1000", "59000", "60000", "60001"]),
    st.sampled_from(["1e-1", "1.0e-6", ".5", "-0.0", "0.0", "1e400", ".inf", "-.inf", ".nan", "0x10", "0o7", "1_000"]),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.sampled_from(["yes", "no", "true", "false", "~", "null", "''", "he", "normal", "lecun", "relu", "sigmoid"]),
    st.sampled_from(["mnist", "fashion-mnist", "cifar", "2026-01-01", "twelve", "'0.1'", "[]", "{}", "{a: 1}"]),
    st.text(st.characters(codec="ascii", exclude_characters="\r\n"), max_size=8).map(repr),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"))


@st.composite
def parameter_files(draw, notebook: str) -> str:
    """A small report configuration, then a few random edits: a value
    changed (to anything), a key dropped, repeated, unknown or owned by the
    command line, or a line of junk."""
    base = parameter_file.read(ROOT / "report" / "config" / "small" / f"{notebook}.yaml")
    lines = [f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, v in base.items()]
    names = list(parameters.schema(notebook)["properties"])
    for _ in range(draw(st.integers(0, 4))):
        edit = draw(st.sampled_from(["set"] * 6 + ["drop", "repeat", "unknown", "junk"]))
        if edit == "set":
            key = draw(st.sampled_from(names))
            lines = [ln for ln in lines if not ln.startswith(key + ":")] + [f"{key}: {draw(values)}"]
        elif edit == "drop" and lines:
            lines.pop(draw(st.integers(0, len(lines) - 1)))
        elif edit == "repeat" and lines:
            lines.append(lines[draw(st.integers(0, len(lines) - 1))].split(":")[0] + f": {draw(values)}")
        elif edit == "unknown":
            lines.append(
                f"{draw(st.sampled_from(['learnig_rate', 'epoch', 'x', 'dataset', 'out_dir']))}: {draw(values)}"
            )
        elif edit == "junk":
            lines.append(
                draw(st.sampled_from(["[1, 2", "- 3", ": x", "\tkey: 1", "a: b: c", "'unclosed", "%YAML 1.1"]))
            )
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_random_parameter_files_are_accepted_or_refused_with_a_parameter_error(tmp_path, notebook):
    """Whatever the file holds, the runner either accepts it, with every value
    of its declared kind, or refuses it with a ParameterError naming what is
    wrong: never another exception."""

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(text=parameter_files(notebook))
    def accepted_or_refused(text):
        try:
            checked = check_file(tmp_path, notebook, text)
        except ParameterError as e:
            found = re.search(
                r" is not allowed; | line \d+| is set on the command line| unknown parameter| mapping| every key"
                r"| sets no parameter",
                str(e),
            )
            assert found
            event(f"refused: {found.group(0).strip()}")  # pytest --hypothesis-show-statistics shows the mix
            return
        event("accepted")
        assert parameters.check(notebook, {**defaults(notebook), **checked}) is not None

    accepted_or_refused()


# --- parameter files at the edges of the schema (hypothesis) ---------------------


def edge_values(schema: dict) -> list:
    """Values at and just beyond the edges of what a property's schema
    allows: its bounds, one step either side, its special values, the
    wrong kind of value; lists of each length around the shortest allowed,
    in and out of order."""
    if "anyOf" in schema:
        special, rest = schema["anyOf"]
        return [special["const"], special["const"] + 1, special["const"] - 1, *edge_values(rest)]
    kind = schema["type"]
    if kind == "integer":
        low, high = schema.get("minimum", -5), schema.get("maximum", 10**6)
        return [low - 1, low, low + 1, high - 1, high, high + 1, float(low), True, str(low)]
    if kind == "number":
        low = schema.get("exclusiveMinimum", schema.get("minimum", -1.0))
        high = schema.get("maximum", 1e3)
        return [
            low,
            low + 1e-12,
            low - 1e-12,
            -low,
            high,
            high * (1 + 1e-9) + 1e-12,
            1,
            math.inf,
            -math.inf,
            math.nan,
            None,
            "0.1",
        ]
    if kind == "array":
        items = edge_values(schema["items"])[:6]
        n = schema["minItems"]
        return [[], items[:n], items[: n + 1], items[: n + 2], items[:3][::-1], [items[1]] * 2, items[1]]
    if kind == "object":  # per_dataset: every data set's value at an edge, one missing, one too many, a number
        names, items = schema["required"], edge_values(next(iter(schema["properties"].values())))[:6]
        full = [dict.fromkeys(names, v) for v in items]
        return [*full, dict.fromkeys(names[:-1], items[1]), {**full[1], "cifar": items[1]}, items[1], []]
    if "enum" in schema:
        return [*schema["enum"], schema["enum"][0].upper(), "", 0]
    if kind == "boolean":
        return [True, False, 0, 1, "true", None]
    if schema.get("format") == "address":
        return ["", "tcp://h:0", "tcp://h:1", "tcp://h:65535", "tcp://h:65536", "tcp://h", "h:1", "tcp://:1"]
    return ["", " ", "a", 1]


def yaml_value(value) -> str:
    """``value`` as YAML 1.2 writes it (JSON is YAML 1.2, but for the floats
    JSON has no word for)."""
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
    if isinstance(value, list):
        return "[" + ", ".join(map(yaml_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {yaml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


@st.composite
def edge_files(draw, notebook: str) -> dict:
    """The small configuration with one to three parameters set to values at
    the edges of their schema."""
    properties = parameters.schema(notebook)["properties"]
    names = [n for n in properties if n not in parameter_file.RESERVED]
    keys = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    return {k: draw(st.sampled_from(edge_values(properties[k]))) for k in keys}


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_files_at_the_edges_of_the_schema_are_refused_before_any_work_or_run(tmp_path, notebook, monkeypatch):
    """A file at the edges of the declared ranges is either refused before
    papermill starts, with a ParameterError naming the file, a parameter,
    its value and what is allowed, or handed to papermill with every value
    within its schema and the rules between them."""
    started = []

    def execute_notebook(notebook, output, parameters, **kwargs):
        started.append(parameters)
        Path(output).write_text("{}")

    monkeypatch.setattr(pm, "execute_notebook", execute_notebook)
    properties = parameters.schema(notebook)["properties"]
    base = parameter_file.read(ROOT / "report" / "config" / "small" / f"{notebook}.yaml")
    path, output = tmp_path / f"{notebook}.yaml", tmp_path / "out.ipynb"

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(edits=edge_files(notebook))
    def refused_or_run(edits):
        started.clear()
        output.unlink(missing_ok=True)
        lines = [f"{k}: {yaml_value(v)}" for k, v in {**base, **edits}.items()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            report_run.run_notebook(NOTEBOOKS[notebook], path, output, str(tmp_path / "build"), "mnist", tmp_path)
        except ParameterError as e:
            assert not started and not output.exists()
            assert e.name in properties and str(e).startswith(str(path)) and f": {e.name} = " in str(e)
            assert f" is not allowed; {e.name} must be " in str(e)
            event(f"refused: {e.name}")
            outcomes.add("refused")
            return
        (injected,) = started
        values = {**defaults(notebook), **injected}
        for name, value in injected.items():
            flag = properties[name].get("type") == "boolean"
            assert (
                isinstance(value, bool)
                if flag
                else (isinstance(value, (list, dict, str, int, float)) and not isinstance(value, bool))
            ), (name, value)
        assert parameters.check(notebook, values) == {k: values[k] for k in properties}
        event("run")
        outcomes.add("run")

    outcomes = set()
    refused_or_run()
    assert outcomes == {"refused", "run"}  # the edges lie on both sides


# --- random parameter files, run (slow) -----------------------------------------

# values each parameter takes in the runs below: the boundaries of what is
# allowed and something just outside, at a cost of seconds per notebook
CHEAP = {
    "1_partial_derivatives": {
        "n_samples": [1, 50, 0, 70000],
        "n_pairs": [1, 30, 31, "twelve"],  # one MNIST image lights at least 34 pixels
        "seed": [0, 2**32 - 1, -1],
        "step": [1e-12, 1.0, 0, 2.0],
    },
    "2_one_layer": {
        "learning_rate": [0.001, 1, 0, "1e-1"],
        "batch_size": [1000, 64, 0],
        "epochs": [1, 0],
        "init": ["lecun", "he", "xavier"],
        "n_train": [1000, 999],
        "eval_every": [1, 100000, 0],
        "seed": [2**32 - 1],
    },
    "3_multilayer": {
        "n_train": [1000, 999],
        "n_val": [100, 99],
        "search_learning_rates": [[0.05, 0.2], [0.2, 0.05], []],
        "search_batch_sizes": [[1000], [32, 1000], [32, 1001]],
        "search_widths": [[1], [8, 4], [8, 8]],
        "search_depths": [[2], [0]],
        "search_activations": [["sigmoid"], ["tanh"]],
        "epochs": [1, 2],
        "short_epochs": [1, 2, 3],
        "seed_epochs": [1, 3],
        "seeds": [[0], [0, 5], [1]],
        "reference_hidden_sizes": [[4, 4], []],
        "reference_batch_size": [1100, 1101],
        "optimizer_epochs": [1, 0],
        "budget_tflop": [1e-5, 1e-9, 0],
        "workers": [1, 2, 0, 33],
    },
}
SMALL_AND_SHORT = {
    "1_partial_derivatives": {"n_samples": 50},
    "2_one_layer": {"n_train": 1000, "epochs": 1},
    "3_multilayer": {
        "n_train": 1000,
        "n_val": 100,
        "search_epochs": 1,
        "search_learning_rates": [0.2],
        "search_batch_sizes": [64],
        "search_widths": [8],
        "search_depths": [1],
        "search_activations": ["relu"],
        "epochs": 1,
        "short_epochs": 1,
        "seeds": [0],
        "seed_epochs": 1,
        "reference_hidden_sizes": [8],
        "optimizer_epochs": 1,
        "workers": 1,
    },
}


# the edges of what is allowed, all at once: each of these runs
EDGES = {
    "1_partial_derivatives": {"n_samples": 1, "n_pairs": 30, "seed": 2**32 - 1, "step": 1.0},
    "2_one_layer": {"learning_rate": 1, "batch_size": 1000, "init": "lecun", "eval_every": 100000, "seed": 2**32 - 1},
    "3_multilayer": {
        "search_batch_sizes": [1000],
        "search_widths": [1],
        "search_activations": ["sigmoid"],
        "search_init": "lecun",
        "seeds": [7],
        "seed": 7,
        "reference_hidden_sizes": [1],
        "reference_batch_size": 1100,
        "reference_init": "he",
        # just above the long run of the cheapest network searched (2.114e-5 TFLOP), the smallest
        # budget allowed: below it the file is refused, as no network the search may choose would fit
        "budget_tflop": 2.12e-5,
    },
}


@st.composite
def cheap_edits(draw, notebook: str) -> dict:
    choices = CHEAP[notebook]
    keys = draw(st.lists(st.sampled_from(sorted(choices)), min_size=1, max_size=4, unique=True))
    return {k: draw(st.sampled_from(choices[k])) for k in keys}


@pytest.mark.slow
@pytest.mark.parametrize("notebook,runs", [("1_partial_derivatives", 6), ("2_one_layer", 5), ("3_multilayer", 4)])
def test_notebook_runs_or_fails_fast_with_a_parameter_error(tmp_path, notebook, runs):
    """Random files, executed for real: a file the check accepts runs to the
    end; one it refuses stops with a ParameterError before papermill starts.
    Learning rates stay where training is sane: a run that diverges stops
    with TrainingDiverged, which is not a parameter's fault."""
    import yaml

    done = []

    @settings(max_examples=runs, deadline=None, phases=[Phase.explicit, Phase.generate], database=None)
    @given(edits=cheap_edits(notebook))
    @example(edits=EDGES[notebook])
    def runs_or_fails_fast(edits):
        run_dir = tmp_path / str(len(done))
        run_dir.mkdir()
        params = run_dir / "p.yaml"
        params.write_text(yaml.safe_dump({**SMALL_AND_SHORT[notebook], **edits}))
        output = run_dir / "out.ipynb"
        t0 = time.perf_counter()
        try:
            report_run.run_notebook(NOTEBOOKS[notebook], params, output, str(run_dir / "build"), "mnist", run_dir)
        except ParameterError:
            assert time.perf_counter() - t0 < 5 and not output.exists() and not (run_dir / "build").exists()
            done.append("refused")
            return
        assert output.exists()
        done.append("ran")

    runs_or_fails_fast()
    assert done[0] == "ran" and len(done) > 1


@pytest.mark.slow
def test_check_in_a_real_kernel_names_the_parameter(tmp_path):
    """The one-line cell the notebooks call, ``params = parameters.check(...)``,
    in a real kernel: a bad value stops the notebook with a ParameterError."""
    import nbformat

    nb = nbformat.read(NOTEBOOKS["2_one_layer"], as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    nb.cells = [
        cell,
        nbformat.v4.new_code_cell('from dlia_a2 import parameters\nparams = parameters.check("2_one_layer")'),
    ]
    path = tmp_path / "2_one_layer.ipynb"
    nbformat.write(nb, path)
    pm.execute_notebook(str(path), str(tmp_path / "ok.ipynb"), kernel_name="python3", progress_bar=False)
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(
            str(path), str(tmp_path / "bad.ipynb"), parameters={"epochs": 0}, kernel_name="python3", progress_bar=False
        )
    assert e.value.ename == "ParameterError"
    assert e.value.evalue == "2_one_layer: epochs = 0 is not allowed; epochs must be a whole number, 1 or more"


def test_a_list_of_mixed_types_is_refused_not_crashed(tmp_path):
    """Hypothesis found it: `[0, yes]` (YAML 1.2 reads `yes` as a string) made
    the increasing-order check compare 0 with "yes" and raise a TypeError."""
    f = tmp_path / "mixed.yaml"
    f.write_text("search_learning_rates: [0.1, yes]\n")
    with pytest.raises(ParameterError, match="search_learning_rates"):
        report_run.checked_parameters(NOTEBOOKS["3_multilayer"], f, "mnist", "build/x")
