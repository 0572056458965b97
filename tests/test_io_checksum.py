"""io.checksum: the sha256 of a file equals hashlib's of its bytes, across chunk boundaries."""

import hashlib

import numpy as np
import pytest

from seqsal.io.checksum import CHUNK, sha256_file


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 17])
def test_sha256_file_equals_hashlib_of_the_bytes(tmp_path, size):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(str(path)) == sha256_file(path)


def test_known_digest_and_a_missing_file(tmp_path):
    (tmp_path / "abc").write_bytes(b"abc")
    assert sha256_file(tmp_path / "abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "missing")
