"""Markdown templates filled from the metrics."""

import pytest

from dlia_a2 import prose


def test_fill_formats_numbers_with_filters():
    metrics = {"acc": 0.98645, "n": 60000, "err": 6.8e-8, "lr": 0.05, "d": 0.123, "epochs": 1}
    text = "{{ acc | pct }} of {{ n | count }}; {{ err | sci }} at {{ lr | g }}, {{ d | signed }}, "
    text += "{{ epochs | plural('epoch') }}"
    assert prose.fill(text, metrics) == "98.65% of 60,000; 6.8 \u00d7 10\u207b\u2078 at 0.05, +0.12, 1 epoch"


def test_fill_leaves_plain_markdown_and_latex_alone():
    text = "$\\frac{\\partial J}{\\partial w_{mj}}$ and a table | a | b |"
    assert prose.fill(text, {}) == text


def test_unknown_name_stops_with_where_it_is():
    with pytest.raises(KeyError, match="nb2, cell-07 names 'test_acc' is undefined.*section.record"):
        prose.fill("{{ test_acc | pct }}", {"test_accuracy": 0.9}, "nb2, cell-07")


def test_verdicts_are_recorded_phrases_and_branching_is_refused():
    assert prose.fill("the formulas {{ verdict }}", {"verdict": "hold"}) == "the formulas hold"
    text = "the formulas {% if ok %}hold{% else %}do not hold{% endif %}"
    with pytest.raises(ValueError, match=r"nb1, cell-20 holds a \{% \.\.\. %\} block.*dlia_a2.verdicts"):
        prose.fill(text, {"ok": True}, "nb1, cell-20")


@pytest.mark.parametrize(
    "text",
    [
        "{{ low - mean }}",
        "{{ (low - mean) | points }}",
        "{{ a * 2 }}",
        "{{ a if ok else b }}",
        "{{ a < b }}",
        "{{ names[index] }}",
        "{{ xs | pct(digits) }}",
        "{% set r = a %}{{ r }}",
        "{% for x in xs %}{{ x }}{% endfor %}",
    ],
)
def test_placeholders_that_compute_are_refused(text):
    metrics = {"low": 0.9, "mean": 0.8, "a": 1, "b": 2, "ok": True, "names": ["x"], "index": 0, "xs": 1, "digits": 1}
    with pytest.raises(ValueError, match="block|computes"):
        prose.fill(text, metrics)


@pytest.mark.parametrize(
    "text",
    ["{{ a }}", "{{ r.min | pct }}", '{{ s["chosen"].last | num(2) }}', "{{ s.runs[0] }}", "{{ n | plural('seed') }}"],
)
def test_plain_look_ups_pass(text):
    prose.check_lookups(text)


def test_listing_and_plural():
    assert prose.listing([1, 2, 3]) == "1, 2 and 3" and prose.listing(["a"]) == "a"
    assert prose.plural(2, "seed") == "2 seeds"


def test_points_and_data_set_names():
    metrics = {"gap": 0.988 - 0.9823333, "parameters": {"dataset": "fashion-mnist"}}
    text = "{{ gap | points }} points below, on {{ parameters.dataset | dataset }}"
    assert prose.fill(text, metrics) == "0.57 points below, on Fashion-MNIST"
    assert prose.dataset("mnist") == "MNIST" and prose.dataset("emnist") == "emnist"
    assert prose.points(-0.0005, 3) == "-0.050"


def test_signed_differences_print_a_true_minus():
    """'−0.04', not '-0.04': the hyphen-minus of Python's format was printed in Section 3.2."""
    assert prose.signed(0.123) == "+0.12" and prose.signed(-0.0366) == "\u22120.04"
    assert prose.signed(-1.5, 1) == "\u22121.5" and "-" not in prose.signed(-12.345)
