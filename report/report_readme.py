"""The README's results section, from a build's ``metrics.json``: the
report's own "Results at a glance" table (:mod:`report_glance`) and the
build it came from; written between the README's ``<!-- results-table -->``
markers by :func:`dlia_a2.files.write_between_markers`."""

from __future__ import annotations

import json
from pathlib import Path

from dlia_a2.prose import dataset as dataset_name
from report_glance import glance_markdown

README_MARKER = "results-table"


def readme_table(build: Path) -> str:
    """The README's results table: the glance table of the build in
    ``build``, and the commit, machine and data set it was built from."""
    m = json.loads((build / "metrics.json").read_text())
    env = json.loads((build / "environment.json").read_text())
    return "\n".join(
        [
            glance_markdown(m["notebooks"], m["dataset"]),
            "",
            f"{dataset_name(m['dataset'])}, configuration `{m['configuration']}`: built {env['built']} from "
            f"commit `{env['git_commit'][:10]}` on {env['cpu']} ({env['cores']} cores), SGD step "
            f"{env['blas_path'].split(':')[0]}.",
        ]
    )
