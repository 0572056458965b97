"""seqsal's Snakemake workflow, shipped inside the package as ``seqsal/workflow``.

Nothing to import here: ``seqsal run`` finds the ``Snakefile`` beside this file through
:func:`importlib.resources.files` and runs Snakemake on it (docs/workflow.md).
"""
