"""Everything around the hand-written network of ``mlp_core``.

Modules, lowest first; each imports only ``mlp_core`` and the ones above it:

- ``checks``: checks of settings that several modules share;
- ``files``: atomic writes and checksums;
- ``blas``: the weight update fused into its gradient's matrix product;
- ``environment``: versions, BLAS, CPU and commit of a run;
- ``prose``: Markdown templates filled with numbers from the metrics;
- ``verdicts``: the phrases the prose quotes, chosen from the numbers;
- ``catalog``: the data sets' files, published checksums and class names;
- ``idx``: the IDX file format, parsed and written;
- ``sources``: where missing files come from (Debian, mirrors, a PyPI wheel);
- ``cache``: the verified files on disk, fetched when missing or damaged;
- ``course``: the course's folders of PNG images;
- ``data``: MNIST and Fashion-MNIST loaded and split for training; ``python -m dlia_a2.data``;
- ``optimizers``: SGD (with the fused step of ``blas``), momentum and Adam;
- ``config``: ``TrainConfig``, the checked settings of a training run;
- ``history``: what a run records, and the state a checkpoint keeps;
- ``divergence``: when a run is stopped as diverged, and the error that says so;
- ``augment``: random shifts of the training images by a few pixels;
- ``training``: data checks, evaluation and the resumable training loop
  (with weight decay, dropout, a learning-rate schedule and keeping the best epoch);
- ``checkpoint``: saving, loading and resuming training runs;
- ``progress``: progress lines on a build's terminal, bars in Jupyter;
- ``analysis``: the diagnostics behind the report's explanations;
- ``jobs``: independent trainings side by side (joblib, Dask), checkpointed runs;
- ``search``: the hyperparameter search, its budget, record and claims;
- ``summaries``: long runs, seeds and optimisers summarised, and their tables;
- ``studies``: the optimiser comparison's settings and the regularisation study;
- ``schema``: the JSON Schema words of the parameters, checked with ``jsonschema``;
- ``parameter_rules``: the rules between a notebook's parameters (budgets, batch sizes, epochs);
- ``parameters``: a JSON Schema per notebook, the rules between parameters, and
  their check (the search's cost counted as ``search`` counts it);
- ``parameter_file``: the YAML parameter files of a report build, read and refused;
- ``plots``: figures (each function returns a matplotlib ``Figure``);
- ``notebook``: what the notebooks call to number figures and keep metrics.

The report build (``report/report_build.py``) and the notebooks use this
package; nothing in it uses them.
"""
