"""seqsal.io.jaspar: matrices by id and by selection agree with pyjaspar's own objects."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from seqsal.errors import InputError
from seqsal.io.jaspar import check_release, fetch_jaspar, jaspar_releases, read_jaspar


def _pyjaspar(release: str, matrix_id: str):
    from pyjaspar import jaspardb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyjaspar warns before returning None
        return jaspardb(release=release).fetch_motif_by_id(matrix_id)


@pytest.mark.parametrize("release", ["JASPAR2026", "JASPAR2020"])
def test_fetch_by_id_equals_pyjaspar(release):
    # versioned ids, base ids (latest version), a heterodimer, a non-CORE id, unknown ids
    ids = ["MA0139.2", "MA0139", "MA0080", "MA0099.3", "MA0047", "MA0466.1", "PB0001.1"]
    ids += ["MA0139.99", "MA9999", "MA0139.x", "MA0139.1.2"]
    ours = fetch_jaspar(release, ids)
    assert len(ours) == len(ids)
    for given, record in zip(ids, ours, strict=True):
        expected = _pyjaspar(release, given)
        if expected is None:
            assert record is None, given
            continue
        assert record.matrix_id == expected.matrix_id
        assert record.name == expected.name
        assert record.family == tuple(expected.tf_family)
        assert record.tf_class == tuple(expected.tf_class)
        counts = np.array([expected.counts[b] for b in "ACGT"])
        assert record.counts.dtype == np.float64 and np.array_equal(record.counts, counts)
    assert ours[1].matrix_id.startswith("MA0139.") and ours[7] is None and ours[9] is None


def test_read_selection_equals_pyjaspar_fetch_motifs():
    from pyjaspar import jaspardb

    expected = jaspardb(release="JASPAR2024").fetch_motifs(collection="CORE", tax_group=["plants"])
    ours = read_jaspar("JASPAR2024", "core", "Plants")
    assert [r.matrix_id for r in ours] == [m.matrix_id for m in expected]
    for record, motif in zip(ours, expected, strict=True):
        assert (record.name, record.family) == (motif.name, tuple(motif.tf_family))
        assert np.array_equal(record.counts, np.array([motif.counts[b] for b in "ACGT"]))
    assert read_jaspar("JASPAR2024", "NO_SUCH_COLLECTION", None) == []


def test_releases_and_the_release_check():
    releases = jaspar_releases()
    assert releases == sorted(releases) and {"JASPAR2024", "JASPAR2026"} <= set(releases)
    assert check_release("JASPAR2024") == "JASPAR2024"
    with pytest.raises(
        InputError,
        match=r"jaspar_release='JASPAR1999' is not shipped with pyjaspar; expected one of JASPAR2014, ",
    ):
        check_release("JASPAR1999", "jaspar_release")
    with pytest.raises(InputError, match="release='x'"):
        fetch_jaspar("x", ["MA0139.2"])
