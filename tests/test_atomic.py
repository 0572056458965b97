"""Outputs appear under their final name only when complete."""

import pytest

from seqsal.io.atomic import atomic_open, atomic_path


def test_complete_write_is_renamed(tmp_path):
    out = tmp_path / "sub" / "table.tsv"
    with atomic_open(out) as handle:
        handle.write("a\tb\n")
        assert not out.exists()
    assert out.read_text() == "a\tb\n"
    assert [p.name for p in out.parent.iterdir()] == ["table.tsv"]


def test_crash_leaves_no_file_and_keeps_the_old_one(tmp_path):
    out = tmp_path / "table.tsv"
    out.write_text("old\n")
    with pytest.raises(ZeroDivisionError), atomic_path(out) as tmp:
        tmp.write_text("half")
        1 / 0  # noqa: B018
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.tsv"]


def test_temporary_keeps_suffix(tmp_path):
    with atomic_path(tmp_path / "x.h5") as tmp:
        assert tmp.suffix == ".h5"
        tmp.write_bytes(b"1")
    assert (tmp_path / "x.h5").read_bytes() == b"1"


def test_output_gets_default_permissions_not_0600(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        with atomic_open(tmp_path / "x.txt") as handle:
            handle.write("x")
    finally:
        os.umask(mask)
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o644


def test_directory_appears_whole_with_default_permissions(tmp_path):
    import os

    from seqsal.io.atomic import atomic_directory

    out = tmp_path / "model"
    mask = os.umask(0o022)
    try:
        with atomic_directory(out) as tmp:
            (tmp / "a.txt").write_text("a")
            assert not out.exists()
    finally:
        os.umask(mask)
    assert (out / "a.txt").read_text() == "a"
    assert out.stat().st_mode & 0o777 == 0o755
    with pytest.raises(RuntimeError), atomic_directory(out) as tmp:
        (tmp / "b.txt").write_text("b")
        raise RuntimeError("crash")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
