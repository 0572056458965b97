"""Fixtures shared by several test modules, built once per test run.

The builders themselves (one-hot arrays, DNA strings, toy models, planted maps) live in
``_toys.py``.  The fixtures here are the expensive data that more than one module needs: they
are session-scoped and read-only; a test that writes next to them copies them to its own
``tmp_path`` first.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def jaspar_motifs() -> list:
    """JASPAR2026 CORE vertebrates (1,019 :class:`seqsal.motifs.Motif`), read once."""
    from seqsal.motifs import load_jaspar

    return load_jaspar()


@pytest.fixture(scope="session")
def jaspar_by_id(jaspar_motifs) -> dict:
    """The same motifs keyed by matrix id (``"MA0139.2"``)."""
    return {m.matrix_id: m for m in jaspar_motifs}


@pytest.fixture(scope="session")
def workflow_sim(tmp_path_factory) -> Path:
    """``seqsal simulate``: 120 regions of 100 bp, rate 1.0, seed 3 (genome.fa, regions.bed,
    ...): the data set the workflow tests run on.  Read-only."""
    from seqsal.cli import main

    folder = tmp_path_factory.mktemp("workflow_sim") / "sim"
    args = ["-q", "simulate", "--out", str(folder), "--n-regions", "120"]
    args += ["--region-length", "100", "--rate", "1.0", "--seed", "3"]
    assert main(args) == 0
    return folder
