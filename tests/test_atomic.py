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


def test_remove_temporaries_deletes_what_interrupted_writers_left(tmp_path):
    """A signal can stop a writer between creating its temporary and its clean-up; the
    command line then calls remove_temporaries, which knows every temporary still on disk."""
    from seqsal.io.atomic import atomic_directory, remove_temporaries

    with atomic_open(tmp_path / "done.txt") as handle:
        handle.write("complete")
    file_writer = atomic_path(tmp_path / "half.h5")
    folder_writer = atomic_directory(tmp_path / "model")
    tmp_file = file_writer.__enter__()  # never exited, as after a lost clean-up
    tmp_folder = folder_writer.__enter__()
    tmp_file.write_bytes(b"half")
    (tmp_folder / "weights.pt").write_bytes(b"half")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and names[2] == "done.txt"
    assert names[0].startswith(".half.h5.") and names[0].endswith(".tmp.h5")
    assert names[1].startswith(".model.") and names[1].endswith(".tmp")
    assert sorted(remove_temporaries()) == sorted([tmp_file, tmp_folder])
    assert [p.name for p in tmp_path.iterdir()] == ["done.txt"]
    assert (tmp_path / "done.txt").read_text() == "complete"
    assert remove_temporaries() == []


def test_a_temporary_is_known_from_the_moment_it_exists(tmp_path, monkeypatch):
    """An interrupt right after the temporary file is created, before the writer's
    try/finally is entered, still leaves nothing that remove_temporaries misses."""
    from seqsal.io import atomic

    create = atomic._create_file

    def create_then_interrupt(path):
        create(path)
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "_create_file", create_then_interrupt)
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "x.tsv"):
        pass
    assert len(list(tmp_path.iterdir())) == 1
    assert len(atomic.remove_temporaries()) == 1
    assert list(tmp_path.iterdir()) == []


def test_interrupt_inside_directory_block_removes_the_folder(tmp_path):
    from seqsal.io.atomic import atomic_directory

    with pytest.raises(KeyboardInterrupt), atomic_directory(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("a")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
