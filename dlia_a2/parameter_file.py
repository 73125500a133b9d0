"""Parameter files: the YAML that sets a notebook's parameters for a report
build (``report/config/<name>/<notebook>.yaml``).

A file is read as YAML 1.2 reads it (``1e-1`` is the number 0.1, ``yes`` a
string) and refused, with a :class:`~dlia_a2.parameters.ParameterError`
naming the file, when it is not a mapping of parameter names to values,
gives a key twice (a merge key ``<<`` included), sets a key that the command
line sets, names a parameter the notebook does not have, or sets none at all
(the notebook's defaults would then run in its place). The values are
checked by :func:`dlia_a2.parameters.check`.
"""

from __future__ import annotations

from pathlib import Path

from dlia_a2 import parameters
from dlia_a2.parameters import ParameterError

# Set on the command line, never in a parameter file: a value there would be
# overridden without a word.
RESERVED = {
    "dataset": "--dataset (make report DATASET=...)",
    "out_dir": "--out-dir (by default a folder beside --output)",
}
MERGE_TAG = "tag:yaml.org,2002:merge"


def read(path: Path) -> dict:
    """A YAML parameter file as a dict, read as YAML 1.2 reads it.

    Parameters
    ----------
    path : Path
        The parameter file.

    Returns
    -------
    dict
        ``{key: value}``, every key a string; ``{}`` for an empty file.

    Raises
    ------
    ParameterError
        When the file cannot be read, is not valid YAML, is not a mapping,
        gives a key twice or holds a merge key (``<<``).
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import YAMLError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ParameterError(f"{path} cannot be read: {e}", str(path)) from None
    yaml = YAML(typ="safe", pure=True)
    try:
        _refuse_merge_keys(path, yaml.compose(text))
        params = yaml.load(text)
    except DuplicateKeyError as e:
        raise ParameterError(
            f"{path}, line {e.problem_mark.line + 1}: {e.problem}; give each parameter once", str(path)
        ) from None
    except YAMLError as e:  # a syntax error (with its line), or a character YAML does not allow
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise ParameterError(
            f"{path}{where} is not valid YAML: {getattr(e, 'problem', None) or e}", str(path)
        ) from None
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise ParameterError(f"{path} must be a mapping of parameter: value, got a {type(params).__name__}", str(path))
    odd = [k for k in params if not isinstance(k, str)]
    if odd:
        raise ParameterError(f"{path}: every key must be a parameter name, got {odd[0]!r}", str(path))
    return params


def _refuse_merge_keys(path: Path, node) -> None:
    """A merge key (``<<: {epochs: 3}``) folds keys in beside the file's own
    (``epochs: 200``) without a word; YAML 1.2 has no merge keys, and a
    parameter file holds none. ``node`` is the file's composed top node."""
    for key, _ in node.value if node is not None and node.tag == "tag:yaml.org,2002:map" else ():
        if key.tag == MERGE_TAG:
            raise ParameterError(
                f"{path}, line {key.start_mark.line + 1}: a merge key (<<) is not allowed in a parameter file: it "
                f"sets parameters beside the file's own without a word; write each parameter once, as key: value",
                str(path),
                "<<",
            )


def load(notebook: str, path: Path) -> dict:
    """The parameters a file sets for ``notebook``, read by :func:`read`,
    before their values are checked.

    Parameters
    ----------
    notebook : str
        The notebook's file name without ``.ipynb``, e.g. ``"2_one_layer"``.
    path : Path
        Its parameter file.

    Returns
    -------
    dict
        ``{name: value}`` as the file gives them: at least one, each a
        parameter of ``notebook`` that the command line does not set.

    Raises
    ------
    ParameterError
        As :func:`read`, and for a key the command line sets, a key the
        notebook does not declare (papermill would inject it silently), or
        a file that sets no parameter.
    """
    params = read(path)
    declared = parameters.schema(notebook)["properties"]
    owned = sorted(set(params) & set(RESERVED))
    if owned:
        raise ParameterError(
            f"{path}: {owned[0]} is set on the command line, with {RESERVED[owned[0]]}, "
            f"not in a parameter file; remove it from the file",
            str(path),
            owned[0],
            params[owned[0]],
        )
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ParameterError(
            f"{path}: unknown parameter(s) {unknown} for {notebook}.ipynb; it declares {sorted(declared)}",
            str(path),
            unknown[0],
            params[unknown[0]],
        )
    if not params:
        settable = [name for name in declared if name not in RESERVED]
        raise ParameterError(
            f"{path} sets no parameter of {notebook}.ipynb, so its defaults (a quick trial) would run in place of "
            f"a configuration; set at least one of {settable}",
            str(path),
        )
    return params
