"""Everything around the hand-written network of ``mlp_core``.

Modules, lowest first; each imports only ``mlp_core`` and the ones above it:

- ``checks``: checks of settings that several modules share;
- ``files``: atomic writes and checksums;
- ``environment``: versions, BLAS, CPU and commit of a run;
- ``prose``: Markdown templates filled with numbers from the metrics;
- ``data``: MNIST and Fashion-MNIST, fetched, verified, cached and split;
- ``parameters``: the type and range of each notebook parameter, and their check;
- ``blas``: the weight update fused into its gradient's matrix product;
- ``optimizers``: SGD (with that fused step), momentum and Adam;
- ``config``: ``TrainConfig``, the checked settings of a training run;
- ``history``: what a run records, and the state a checkpoint keeps;
- ``divergence``: when a run is stopped as diverged, and the error that says so;
- ``training``: data checks, evaluation and the resumable training loop
  (with weight decay, dropout, a learning-rate schedule and keeping the best epoch);
- ``checkpoint``: saving, loading and resuming training runs;
- ``progress``: progress lines on a build's terminal, bars in Jupyter;
- ``analysis``: the diagnostics behind the report's explanations;
- ``experiments``: the search, long runs side by side (joblib, Dask), summaries;
- ``plots``: figures (each function returns a matplotlib ``Figure``);
- ``notebook``: what the notebooks call to number figures and keep metrics.

The report build (``report/report_build.py``) and the notebooks use this
package; nothing in it uses them.
"""
