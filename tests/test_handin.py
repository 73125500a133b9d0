"""make handin and make verify (report/handin.py, verify.py, rebuild.py and
compare.py), and the BLAS kernel facts they rest on (dlia_a2.environment).

The quick tests work on small git repositories, folders and dicts they make
themselves. The slow ones build the small report once, in a temporary
repository committed from this working tree (so a dirty developer tree does
not make them fail), under OPENBLAS_CORETYPE=Haswell; hand it in; and verify
the bundle with the variable set to another kernel: "identical", because
verify pins the kernel the bundle recorded.
"""

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import compare
import handin
import printed
import rebuild
import verify
from dlia_a2 import environment

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv" / "bin" / "python"
AVX512 = {"avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}


# --- the kernels ------------------------------------------------------------------


def test_forced_kernel_names_the_variable_and_both_kernels():
    note = environment.forced_kernel("Haswell", running="Haswell", native="SkylakeX")
    assert "OPENBLAS_CORETYPE=Haswell" in note and "Haswell kernels" in note and "SkylakeX" in note


@pytest.mark.parametrize(
    "coretype, running, native",
    [
        ("", "SkylakeX", "SkylakeX"),  # nothing forced
        ("SkylakeX", "SkylakeX", "SkylakeX"),  # forced, but what it picks anyway
        ("Cooperlake", "Cooperlake", "SkylakeX"),  # forced, and stronger
        ("Zen", "Zen", "Haswell"),  # the same tier
        ("NEOVERSEN1", "NEOVERSEN1", "NEOVERSEV1"),  # names it does not know
    ],
)
def test_forced_kernel_is_none_unless_weaker(coretype, running, native):
    assert environment.forced_kernel(coretype, running=running, native=native) is None


def test_kernel_runs_here_follows_the_cpu_flags():
    haswell_cpu = {"avx", "avx2", "fma", "sse4_2"}
    assert environment.kernel_runs_here("SkylakeX", haswell_cpu) is False
    assert environment.kernel_runs_here("haswell", haswell_cpu) is True  # case as OPENBLAS_CORETYPE takes it
    assert environment.kernel_runs_here("Haswell", AVX512) is True
    assert environment.kernel_runs_here("Cooperlake", AVX512) is False  # needs avx512_bf16
    assert environment.kernel_runs_here("NEOVERSEN1", AVX512) is None


def test_native_kernel_is_openblass_own_choice_whatever_the_variable(monkeypatch):
    running = environment.openblas_kernel()[0]
    if environment.kernel_runs_here(str(running)) is None:
        pytest.skip(f"NumPy's BLAS kernel here ({running}) is not one of environment.KERNELS")
    forced_here = os.environ.get("OPENBLAS_CORETYPE")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Prescott")  # the weakest x86-64 kernel
    native = environment.native_kernel()
    if not forced_here:  # this process runs OpenBLAS's own choice: the child must agree
        assert native == running
    assert environment.kernel_runs_here(native) and native != "Prescott"
    assert environment.forced_kernel(running="Prescott").startswith("OPENBLAS_CORETYPE=Prescott forces")


def test_openblas_kernel_reads_a_recorded_blas_list():
    blas = [
        {"internal_api": "openmp", "architecture": None, "num_threads": 4},
        {"internal_api": "openblas", "architecture": "Haswell", "num_threads": 2},
    ]
    assert environment.openblas_kernel(blas) == ("Haswell", 2)
    assert environment.openblas_kernel([]) == (None, None)


# --- refusals -----------------------------------------------------------------------


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A git repository with a build input and a file the build does not read."""
    r = tmp_path / "repo"
    (r / "dlia_a2").mkdir(parents=True)
    (r / "dlia_a2" / "files.py").write_text("x = 1\n")
    (r / "README.md").write_text("readme\n")
    git(r, "init", "-q")
    commit_all(r, "one")
    return r


def commit_all(r, message):
    git(r, "add", "-A")
    git(r, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)
    return git(r, "rev-parse", "HEAD")


def test_build_inputs_are_what_the_build_reads():
    for path in ("mlp_core.py", "dlia_a2/data.py", "notebooks/2_one_layer.ipynb", "report/config/small/x.yaml"):
        assert handin.is_build_input(path), path
    for path in ("README.md", "tests/test_handin.py", "bench/bench.py", "report/handin.py", "dlia_a2x"):
        assert not handin.is_build_input(path), path
    for path in ("report/printed.py", "report/compare.py", "report/rebuild.py", "report/verify.py"):  # the hand-in's
        assert not handin.is_build_input(path), path


def test_git_changes_lists_changed_and_untracked_paths(repo):
    assert environment.git_changes(repo) == {}
    (repo / "dlia_a2" / "files.py").write_text("x = 2\n")
    (repo / "dlia_a2" / "new.py").write_text("")
    assert environment.git_changes(repo) == {"dlia_a2/files.py": " M", "dlia_a2/new.py": "??"}
    assert handin.uncommitted_inputs(repo) == ["dlia_a2/files.py", "dlia_a2/new.py"]


def test_a_change_to_a_file_the_build_does_not_read_is_no_reason_to_refuse(repo):
    (repo / "README.md").write_text("changed\n")
    assert handin.uncommitted_inputs(repo) == []
    head = git(repo, "rev-parse", "HEAD")
    env = {"git_commit": f"{head} (with uncommitted changes)", "git_changes": ["README.md"]}
    assert handin.built_commit(env, repo) == head


def test_a_report_built_from_uncommitted_inputs_is_refused(repo):
    head = git(repo, "rev-parse", "HEAD")
    env = {"git_commit": f"{head} (with uncommitted changes)", "git_changes": ["README.md", "dlia_a2/files.py"]}
    with pytest.raises(handin.HandinError, match=r"uncommitted changes to dlia_a2/files.py: commit them"):
        handin.built_commit(env, repo)
    # a new module the build imported but git does not track (the commit lacks it)
    with pytest.raises(handin.HandinError, match=r"uncommitted changes to dlia_a2/new.py"):
        handin.built_commit({"git_commit": head, "git_changes": ["dlia_a2/new.py"]}, repo)
    # an older record that does not list the changes cannot be trusted either
    with pytest.raises(handin.HandinError, match="uncommitted changes"):
        handin.built_commit({"git_commit": f"{head} (with uncommitted changes)"}, repo)
    with pytest.raises(handin.HandinError, match="no git commit"):
        handin.built_commit({"git_commit": "unknown"}, repo)


def test_a_report_of_an_earlier_commit_is_refused_only_if_its_inputs_changed(repo):
    built = git(repo, "rev-parse", "HEAD")
    (repo / "README.md").write_text("later\n")
    commit_all(repo, "docs only")
    assert handin.built_commit({"git_commit": built, "git_changes": []}, repo) == built
    (repo / "dlia_a2" / "files.py").write_text("x = 3\n")
    head = commit_all(repo, "code")
    with pytest.raises(handin.HandinError, match=rf"HEAD \({head[:10]}\) changes dlia_a2/files.py"):
        handin.built_commit({"git_commit": built, "git_changes": []}, repo)


def test_a_report_older_than_its_sources_is_stale(tmp_path):
    root, build = tmp_path / "root", tmp_path / "build"
    for d in ("dlia_a2", "notebooks", "report/config/small", "report/template/report"):
        (root / d).mkdir(parents=True)
    build.mkdir()
    sources = [root / "mlp_core.py", root / "dlia_a2" / "files.py", root / "report" / "report_build.py"]
    hand_in = [root / "report" / name for name in ("handin.py", "printed.py", "compare.py", "rebuild.py", "verify.py")]
    sources += hand_in  # not read by the build: never makes it stale
    for nb in handin.NOTEBOOKS:
        sources += [root / "notebooks" / f"{nb}.ipynb", root / "report" / "config" / "small" / f"{nb}.yaml"]
    for p in sources:
        p.write_text("")
        os.utime(p, (1000, 1000))
    for name in [f"{nb}.ipynb" for nb in handin.NOTEBOOKS] + ["report.html", "report.pdf"]:
        (build / name).write_text("")
        os.utime(build / name, (2000, 2000))
    assert handin.stale_outputs(build, "small", root) == []
    os.utime(root / "report" / "config" / "small" / "2_one_layer.yaml", (3000, 3000))
    os.utime(root / "report" / "report_build.py", (3000, 3000))
    for p in hand_in:
        os.utime(p, (4000, 4000))
    stale = handin.stale_outputs(build, "small", root)
    assert len(stale) == 2
    assert stale[0].endswith("2_one_layer.ipynb is older than report/config/small/2_one_layer.yaml")
    assert stale[1].endswith("report.html is older than report/report_build.py")
    (build / "report.pdf").unlink()
    assert handin.stale_outputs(build, "small", root)[-1].endswith("report.pdf is missing")


# --- the comparison -------------------------------------------------------------------


def metrics(**nb3):
    base = {
        "seed_std": 0.002,
        "seed_mean": 0.98,
        "n_test_images": 10000,
        "regularisation": {"seeds": {"0": {"test_loss": 0.10}, "1": {"test_loss": 0.12}, "2": {"test_loss": 0.14}}},
    }
    return {
        "dataset": "mnist",
        "configuration": "small",
        "notebooks": {
            "1_partial_derivatives": {"max_rel_error_formula_vs_fd": 6.8e-8, "n_pairs": 6},
            "2_one_layer": {"test_accuracy": 0.92, "test_accuracy_range": {"min": 0.91, "spread_points": 1.2}},
            "3_multilayer": {**base, **nb3},
        },
    }


@pytest.mark.parametrize(
    "key, allowed",
    [
        ("2_one_layer/test_accuracy", 0.002),  # the seed standard deviation
        ("2_one_layer/test_accuracy_range.min", 0.002),
        ("2_one_layer/test_accuracy_range.spread_points", 0.4),  # twice it, in points
        ("3_multilayer/test_errors", 20.0),  # in test images
        ("3_multilayer/regularisation.seeds.0.test_loss", 0.02),  # sd of the seeds' test losses
        ("1_partial_derivatives/max_rel_error_formula_vs_fd", 1e-6),  # the gradient check's threshold
        ("1_partial_derivatives/n_pairs", 0.0),  # counts are exact
        ("3_multilayer/chosen_label", 0.0),  # and texts
        ("3_multilayer/parameters.learning_rate", 0.0),  # and parameters
        ("3_multilayer/mean_abs_weight", 0.5 * 0.002 / 0.98),  # else: the seeds' relative spread
    ],
)
def test_tolerance_is_the_reports_own_spread(key, allowed):
    m = metrics(test_errors=120, chosen_label="784-100-10", parameters={"learning_rate": 0.1}, mean_abs_weight=0.5)
    assert compare.tolerance(key, m) == pytest.approx(allowed)


def test_verdicts():
    a = metrics(test_errors=120)
    assert compare.compare(a, json.loads(json.dumps(a))) == []
    assert compare.verdict([]) == "identical"
    assert compare.verdict([], kernel_pinned=False) == "consistent"
    b = json.loads(json.dumps(a))
    b["notebooks"]["2_one_layer"]["test_accuracy"] = 0.9219  # 0.0019 <= 0.002
    b["notebooks"]["1_partial_derivatives"]["max_rel_error_formula_vs_fd"] = 8.24e-8
    d = compare.compare(a, b)
    assert [x.key for x in d] == ["1_partial_derivatives/max_rel_error_formula_vs_fd", "2_one_layer/test_accuracy"]
    assert compare.verdict(d) == "consistent"
    b["notebooks"]["3_multilayer"]["test_errors"] = 141  # 21 images > 20
    b["notebooks"]["3_multilayer"]["chosen_label"] = "new"  # a key the bundle lacks
    d = compare.compare(a, b)
    assert compare.verdict(d) == "differs"
    table = compare.difference_table(d)
    assert "BEYOND" in table and "3_multilayer/test_errors" in table and "(missing)" in table
    # the largest excess over its tolerance comes first
    assert table.splitlines()[1].split()[0] == "3_multilayer/chosen_label"


def test_a_text_that_differs_only_in_its_numbers_follows_its_inputs():
    """Verdict phrases quote numbers that metrics.json records as numbers too:
    a last digit moved there is judged by the number, not by the phrase."""
    assert compare.mask_numbers("falls by 1.16 points (98.12%), ends at 0.9950, 6.8e-08, before epoch 1.1.") == (
        "falls by # points (#%), ends at #, #, before epoch #."
    )
    assert compare.mask_numbers("784-32-10 relu, float32") == "#-#-# relu, float32"  # a word keeps its digits
    a = metrics(reading_verdict="falls by 1.16 points", test_errors=120)
    b = json.loads(json.dumps(a))
    b["notebooks"]["3_multilayer"]["reading_verdict"] = "falls by 1.17 points"
    (d,) = compare.compare(a, b)
    assert d.key == "3_multilayer/reading_verdict" and d.allowed == 0.0
    assert d.size == 0.0 and d.within and d.excess == 0.0
    assert compare.verdict([d]) == "consistent"
    # any other change of the words still differs
    b["notebooks"]["3_multilayer"]["reading_verdict"] = "rises by 1.17 points"
    (d,) = compare.compare(a, b)
    assert d.size == math.inf and compare.verdict([d]) == "differs"
    b["notebooks"]["3_multilayer"]["reading_verdict"] = 1.17  # a number where a text was
    assert compare.verdict(compare.compare(a, b)) == "differs"
    a["notebooks"]["3_multilayer"]["dtype"] = "float32"
    b = json.loads(json.dumps(a))
    b["notebooks"]["3_multilayer"]["dtype"] = "float64"
    assert compare.verdict(compare.compare(a, b)) == "differs"


def test_tolerances_have_a_floor_when_the_seeds_agree():
    """Seeds that all end at the same accuracy give a standard deviation of 0:
    the documented floors stand in, so that a last-bit change is not "differs"."""
    losses = {"seeds": {"0": {"test_loss": 0.1}, "1": {"test_loss": 0.1}}}
    m = metrics(seed_std=0.0, regularisation=losses, test_errors=120)
    floor = compare.ACCURACY_SD_FLOOR
    assert 0 < floor <= 1e-4  # no wider than the last printed digit of a percentage
    assert compare.tolerance("2_one_layer/test_accuracy", m) == floor
    assert compare.tolerance("2_one_layer/test_accuracy_range.spread_points", m) == pytest.approx(200 * floor)
    assert compare.tolerance("3_multilayer/test_errors", m) == pytest.approx(1.0)  # one test image
    assert compare.tolerance("3_multilayer/regularisation.seeds.0.test_loss", m) == compare.LOSS_SD_FLOOR > 0
    assert compare.tolerance("3_multilayer/parameters.learning_rate", m) == 0.0  # parameters stay exact
    b = json.loads(json.dumps(m))
    b["notebooks"]["2_one_layer"]["test_accuracy"] += 0.5 * floor
    assert compare.verdict(compare.compare(m, b)) == "consistent"
    b["notebooks"]["2_one_layer"]["test_accuracy"] += floor
    assert compare.verdict(compare.compare(m, b)) == "differs"


def test_the_report_may_print_only_values_of_its_metrics(tmp_path, monkeypatch):
    m = metrics()
    page = (
        "<html><head><style>p {width: 12.50%}</style><script>var x = '99.99%';</script></head>"
        "<body><p>accuracy <b>92.00%</b> (91.00%&ndash;92.00%)</p>"
        '<img src="data:image/png;base64,AA12.34%"></body></html>'
    )
    text = printed.html_text(page)
    assert printed.unknown_percentages(text, m) == ({"92.00", "91.00"}, set())  # scripts, styles, tags aside
    (tmp_path / "report.html").write_text(page)
    lines = []
    assert printed.check_report(tmp_path, m, lines.append) == []
    assert "report.html: each of its 2 percentages is a value of metrics.json" in lines[-1]
    (tmp_path / "report.html").write_text(page.replace("92.00%</b>", "93.00%</b>"))
    (problem,) = printed.check_report(tmp_path, m, lines.append)
    assert problem.startswith("report.html prints 93.00%, no value of its metrics.json")
    (tmp_path / "report.html").write_text("<p>no numbers</p>")
    (problem,) = printed.check_report(tmp_path, m, lines.append)
    assert "report.html prints no percentage at all" in problem
    # the PDF is read where pdftotext is installed, and the verdict says so where it is not
    (tmp_path / "report.html").write_text(page)
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4 not really")
    monkeypatch.setattr(printed.shutil, "which", lambda name: None)
    lines = []
    assert printed.check_report(tmp_path, m, lines.append) == []
    assert "pdftotext is not installed: report.pdf's text is not checked" in lines[0]


def test_judge_says_differs_when_the_report_does_not_print_its_metrics(tmp_path):
    bundle = metrics()
    folder = fake_build(tmp_path / "bundle", bundle, "Haswell")
    (folder / "report.html").write_text("<p>Test accuracy: 92.50%.</p>")  # edited after the build
    lines = []
    environment_ = json.loads((folder / "environment.json").read_text())
    status = compare.judge(folder, fake_build(tmp_path / "rebuilt", bundle, "Haswell"), environment_, lines.append)
    out = "\n".join(lines)
    assert status == 1 and "[verify] differs: the handed-in report does not print its metrics" in out, out
    assert "report.html prints 92.50%" in out and "identical" not in out


def fake_build(folder: Path, m: dict, kernel: str, numpy: str = "2.4.6") -> Path:
    for nb, values in m["notebooks"].items():
        (folder / nb).mkdir(parents=True, exist_ok=True)
        (folder / nb / "metrics.json").write_text(json.dumps(values))
    (folder / "metrics.json").write_text(json.dumps(m))
    env = {"python": "3.11.7", "packages": {"numpy": numpy}, "blas": [{"internal_api": "openblas"}]}
    env["blas"][0].update(architecture=kernel, num_threads=2)
    (folder / "environment.json").write_text(json.dumps(env))
    accuracy = m["notebooks"]["2_one_layer"]["test_accuracy"]
    (folder / "report.html").write_text(f"<html><body><p>Test accuracy: {accuracy:.2%}.</p></body></html>")
    return folder


@pytest.mark.parametrize(
    "kernel, numpy, change, code, says",
    [
        ("Haswell", "2.4.6", 0.0, 0, "[verify] identical"),
        ("SkylakeX", "2.4.6", 0.0, 0, "[verify] consistent: every value is equal, though"),
        ("Haswell", "2.5.0", 0.0, 0, "numpy 2.4.6 -> 2.5.0"),
        ("Haswell", "2.4.6", 0.001, 0, "[verify] consistent: every difference is within"),
        ("Haswell", "2.4.6", 0.01, 1, "[verify] differs: beyond the report's own spread: 2_one_layer/test_accuracy"),
    ],
)
def test_judge_gives_the_verdict_and_its_exit_status(tmp_path, kernel, numpy, change, code, says):
    bundle = metrics()
    rebuilt = json.loads(json.dumps(bundle))
    rebuilt["notebooks"]["2_one_layer"]["test_accuracy"] += change
    lines = []
    status = compare.judge(
        fake_build(tmp_path / "bundle", bundle, "Haswell"),
        fake_build(tmp_path / "rebuilt", rebuilt, kernel, numpy),
        json.loads((tmp_path / "bundle" / "environment.json").read_text()),
        lines.append,
    )
    out = "\n".join(lines)
    assert status == code and says in out, out
    assert ("2_one_layer/test_accuracy" in out) == bool(change)  # in the table of differences


# --- the rebuild's environment -------------------------------------------------------


RECORDED = {
    "blas": [
        {"internal_api": "openblas", "architecture": "Haswell", "num_threads": 2},
        {"internal_api": "openmp", "architecture": None, "num_threads": 2},
    ]
}


def test_rebuild_environment_pins_the_recorded_kernel_and_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(rebuild, "kernel_runs_here", lambda kernel: True)
    base = {"OPENBLAS_CORETYPE": "SkylakeX", "DLIA_DASK_SCHEDULER": "tcp://x:1", "MAKEFLAGS": "-j", "PYTHONPATH": "/a"}
    env, notes = rebuild.rebuild_environment(RECORDED, tmp_path, base)
    assert (
        env["OPENBLAS_CORETYPE"] == "Haswell" and env["OPENBLAS_NUM_THREADS"] == "2" and env["OMP_NUM_THREADS"] == "2"
    )
    assert env["PYTHONPATH"] == f"{tmp_path}{os.pathsep}/a"
    assert "DLIA_DASK_SCHEDULER" not in env and "MAKEFLAGS" not in env
    assert "pinned the recorded kernel: OPENBLAS_CORETYPE=Haswell" in notes


def test_rebuild_environment_says_when_this_cpu_cannot_run_the_kernel(tmp_path, monkeypatch):
    monkeypatch.setattr(rebuild, "kernel_runs_here", lambda kernel: False)
    env, notes = rebuild.rebuild_environment(RECORDED, tmp_path, {"OPENBLAS_CORETYPE": "Haswell"})
    assert "OPENBLAS_CORETYPE" not in env  # forcing it would end in an illegal instruction
    assert any("cannot run the recorded kernel Haswell" in n for n in notes)


def test_the_rebuild_imports_the_bundles_code_not_this_checkouts(tmp_path):
    source = tmp_path / "source"
    (source / "dlia_a2").mkdir(parents=True)
    (source / "dlia_a2" / "__init__.py").write_text("")
    (source / "mlp_core.py").write_text("")
    env, _ = rebuild.rebuild_environment({}, source)
    where = rebuild.imported_from(env, PY, tmp_path)
    assert where == {"dlia_a2": str(source / "dlia_a2" / "__init__.py"), "mlp_core": str(source / "mlp_core.py")}


# --- broken bundles --------------------------------------------------------------------


def test_verify_refuses_what_is_not_a_bundle(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    with pytest.raises(handin.HandinError, match="not a zip file"):
        verify.unpack(junk, tmp_path / "a")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as z:
        z.writestr("report.pdf", b"%PDF")
    with pytest.raises(handin.HandinError, match="has no MANIFEST.json"):
        verify.unpack(tmp_path / "empty.zip", tmp_path / "b")
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as z:
        z.writestr("../outside", b"")
        z.writestr("MANIFEST.json", b"{}")
    with pytest.raises(handin.HandinError, match="paths outside its folder"):
        verify.unpack(tmp_path / "evil.zip", tmp_path / "c")
    assert not (tmp_path / "outside").exists()


def test_make_verify_without_a_bundle_says_how():
    r = subprocess.run(["make", "--no-print-directory", "verify"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "usage: make verify HANDIN=" in r.stdout


# --- the real thing: build, hand in, verify ---------------------------------------------


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "OPENBLAS_CORETYPE")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def handed_in(tmp_path_factory):
    """The small report built under OPENBLAS_CORETYPE=Haswell in a temporary
    repository (this working tree, committed), and its bundle."""
    if not environment.kernel_runs_here("Haswell"):
        pytest.skip("this CPU cannot run OpenBLAS's Haswell kernels")
    tmp = tmp_path_factory.mktemp("handin")
    repo = tmp / "repo"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, repo / name)
    # sources older than this checkout's virtual environment and MathJax,
    # so that the build takes both as they are
    for path in repo.rglob("*"):
        os.utime(path, (946684800, 946684800))
    git(repo, "init", "-q")
    commit_all(repo, "the working tree, for a hand-in")
    # MathJax from this checkout (a link is not ignored by "node_modules/")
    (repo / "report" / "node_modules").symlink_to(ROOT / "report" / "node_modules")
    (repo / ".git" / "info" / "exclude").write_text("report/node_modules\n")
    # this checkout's .venv imports this checkout's code unless the repo comes first
    env = _clean_env(PYTHONPATH=str(repo), OPENBLAS_CORETYPE="Haswell")
    make = ["make", "--no-print-directory", "CONFIG=small", "DATASET=mnist", f"VENV={ROOT / '.venv'}"]
    r = subprocess.run([*make, "html", "pdf"], cwd=repo, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    r = subprocess.run([*make, "handin"], cwd=repo, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    bundle = repo / "report" / "build" / "mnist-small" / "handin-mnist-small.zip"
    assert bundle.is_file() and "make verify HANDIN=report/build/mnist-small/handin-mnist-small.zip" in r.stdout
    return repo, bundle, env


@pytest.fixture(scope="module")
def verified(handed_in, tmp_path_factory):
    """``make verify`` of the bundle, from this checkout, with OPENBLAS_CORETYPE set to another kernel."""
    _, bundle, _ = handed_in
    workdir = tmp_path_factory.mktemp("verify")
    other = "SkylakeX" if environment.kernel_runs_here("SkylakeX") else "Sandybridge"
    t = time.perf_counter()
    r = subprocess.run(
        [str(PY), "report/verify.py", str(bundle), "--workdir", str(workdir), "--venv", ".venv"],
        cwd=ROOT,
        env=_clean_env(OPENBLAS_CORETYPE=other),
        capture_output=True,
        text=True,
    )
    return r, workdir, time.perf_counter() - t


@pytest.mark.data
@pytest.mark.slow
def test_bundle_holds_the_report_its_metrics_and_its_source(handed_in):
    repo, bundle, _ = handed_in
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("MANIFEST.json"))
    assert {"report.pdf", "report.html", "environment.json", "metrics.json", "source.tar", "MANIFEST.json"} <= names
    for nb in handin.NOTEBOOKS:
        assert {f"{nb}.ipynb", f"{nb}/metrics.json"} <= names
    assert manifest["commit"] == git(repo, "rev-parse", "HEAD")
    assert set(manifest["sha256"]) == names - {"MANIFEST.json"}
    assert manifest["configuration"] == "small" and manifest["built"]
    assert all(s > 0 for s in manifest["build_seconds"].values())


@pytest.mark.data
@pytest.mark.slow
def test_verify_rebuilds_under_the_recorded_kernel_identical(verified):
    r, workdir, _ = verified
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    assert "[verify] 1. manifest" in out and "[verify] 2. the notebooks" in out
    assert "pinned the recorded kernel: OPENBLAS_CORETYPE=Haswell" in out
    assert f"imported from {workdir / 'source'}" in out
    assert "[verify] identical" in out and "0 of " in out
    ran = json.loads((workdir / "rebuilt" / "environment.json").read_text())
    assert environment.openblas_kernel(ran["blas"])[0] == "Haswell"


@pytest.mark.data
@pytest.mark.slow
def test_a_forged_number_is_caught_by_the_rebuild(verified):
    """A number changed in metrics.json with the manifest updated to match
    passes the hashes; the rebuild's values name it."""
    r, workdir, _ = verified
    assert r.returncode == 0
    bundle = json.loads((workdir / "metrics.json").read_text())
    rebuilt = json.loads((workdir / "rebuilt" / "metrics.json").read_text())
    bundle["notebooks"]["3_multilayer"]["seed_mean"] += 0.05
    d = compare.compare(bundle, rebuilt)
    assert compare.verdict(d) == "differs" and [x.key for x in d] == ["3_multilayer/seed_mean"]


def _forge_a_percentage(folder: Path, name: str) -> str:
    """Print, in the report file ``name`` of the build ``folder``, notebook 2's
    test accuracy as a percentage no value of metrics.json gives; the
    percentage forged. The PDF is printed by Chromium from a forged HTML, and
    the HTML put back."""
    import report_render

    m = json.loads((folder / "metrics.json").read_text())
    accuracy = m["notebooks"]["2_one_layer"]["test_accuracy"]
    real = f"{accuracy:.2%}"
    forged = next(
        p for p in (f"{accuracy + k / 10000:.2%}" for k in range(1, 100)) if printed.unknown_percentages(p, m)[1]
    )
    page = folder / "report.html"
    original = page.read_text(encoding="utf-8")
    assert real in printed.html_text(original)
    page.write_text(original.replace(real, forged), encoding="utf-8")
    if name == "report.pdf":
        report_render.render_pdf(page, folder / "report.pdf")
        page.write_text(original, encoding="utf-8")
    return forged


def _rehash(folder: Path, bundle: Path) -> Path:
    """``folder``, an unpacked bundle, zipped again with its manifest's hashes brought up to date."""
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    for name in manifest["sha256"]:
        manifest["sha256"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "MANIFEST.json").write_text(json.dumps(manifest, indent=1))
    with zipfile.ZipFile(bundle, "w") as z:
        for name in [*manifest["sha256"], "MANIFEST.json"]:
            z.write(folder / name, name)
    return bundle


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("name", ["report.html", "report.pdf"])
def test_a_forged_report_is_caught_after_the_rebuild(handed_in, verified, tmp_path, name):
    """A percentage changed in the handed-in report, with the manifest
    re-hashed to match, passes the hashes, and the metrics rebuild
    identical; the check of the report against them names it."""
    if name == "report.pdf" and shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed; apt-get install poppler-utils")
    _, bundle, _ = handed_in
    done, workdir, _ = verified
    assert done.returncode == 0
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(unpacked)
    forged = _forge_a_percentage(unpacked, name)
    bad = _rehash(unpacked, tmp_path / "forged.zip")
    # verify in a copy of the verified folder: its rebuild is up to date, so make rebuilds nothing
    work = tmp_path / "verify"
    shutil.copytree(workdir, work, symlinks=True)
    other = "SkylakeX" if environment.kernel_runs_here("SkylakeX") else "Sandybridge"
    r = subprocess.run(
        [str(PY), "report/verify.py", str(bad), "--workdir", str(work), "--venv", ".venv"],
        cwd=ROOT,
        env=_clean_env(OPENBLAS_CORETYPE=other),
        capture_output=True,
        text=True,
    )
    out = r.stdout
    assert r.returncode == 1, out[-3000:] + r.stderr[-3000:]
    assert "[verify] 1. manifest" in out and "0 of " in out  # the hashes pass, the metrics are identical
    assert "[verify] differs: the handed-in report does not print its metrics" in out
    assert f"{name} prints {forged}, no value of its metrics.json" in out
    assert "[verify] identical" not in out


def tampered(bundle: Path, out: Path, name: str, change) -> Path:
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            dst.writestr(item, change(data) if item == name else data)
    return out


def _one_more_in_seed_mean(data: bytes) -> bytes:
    m = json.loads(data)
    m["seed_mean"] += 0.01
    return json.dumps(m, indent=1, sort_keys=True).encode() + b"\n"


def _flip_a_byte(data: bytes) -> bytes:
    i = len(data) // 2
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :]


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize(
    "name, change",
    [("3_multilayer/metrics.json", _one_more_in_seed_mean), ("report.pdf", _flip_a_byte)],
    ids=["metrics", "pdf"],
)
def test_a_tampered_bundle_fails_naming_the_file(handed_in, tmp_path, name, change):
    _, bundle, _ = handed_in
    bad = tampered(bundle, tmp_path / "bad.zip", name, change)
    r = subprocess.run(
        ["make", "--no-print-directory", "verify", f"HANDIN={bad}"], cwd=ROOT, env=_clean_env(), capture_output=True
    )
    out = r.stdout.decode()
    assert r.returncode != 0
    assert f"{name}: its SHA-256 is not the manifest's" in out and "[verify] BROKEN" in out
    assert "rebuilding" not in out


@pytest.mark.data
@pytest.mark.slow
def test_handin_refuses_a_dirty_tree(handed_in):
    repo, _, env = handed_in
    params = repo / "report" / "config" / "small" / "2_one_layer.yaml"
    text = params.read_text()
    make = ["make", "--no-print-directory", "handin", "CONFIG=small", f"VENV={ROOT / '.venv'}"]
    try:
        params.write_text(text + "# changed\n")
        r = subprocess.run(make, cwd=repo, env=env, capture_output=True, text=True)
        assert r.returncode != 0
        assert "uncommitted changes to report/config/small/2_one_layer.yaml" in r.stderr
    finally:
        params.write_text(text)
        os.utime(params, (946684800, 946684800))
    # a change to what the build does not read is no reason to refuse
    (repo / "README.md").write_text("a note\n")
    r = subprocess.run(make, cwd=repo, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
