"""Everything around the hand-written network of ``mlp_core``.

Modules, lowest first; each imports only ``mlp_core`` and the ones above it:

- ``files``: atomic writes and checksums;
- ``environment``: versions, BLAS, CPU and commit of a run;
- ``prose``: Markdown templates filled with numbers from the metrics;
- ``data``: MNIST and Fashion-MNIST, fetched, verified, cached and split;
- ``blas``: the weight update fused into its gradient's matrix product;
- ``optimizers``: SGD (with that fused step), momentum and Adam;
- ``training``: settings, history, evaluation and the resumable training loop
  (with weight decay, dropout, a learning-rate schedule and early stopping);
- ``checkpoint``: saving, loading and resuming training runs;
- ``progress``: progress lines on a build's terminal, bars in Jupyter;
- ``analysis``: the diagnostics behind the report's explanations;
- ``experiments``: the search, long runs side by side (joblib, Dask), summaries;
- ``schema``: the JSON Schema words of the parameters, checked with ``jsonschema``;
- ``parameters``: a JSON Schema per notebook, the rules between parameters, and
  their check (the search's cost counted as the experiments count it);
- ``parameter_file``: the YAML parameter files of a report build, read and refused;
- ``plots``: figures (each function returns a matplotlib ``Figure``);
- ``notebook``: what the notebooks call to number figures and keep metrics.

The report build (``report/report_build.py``) and the notebooks use this
package; nothing in it uses them.
"""
