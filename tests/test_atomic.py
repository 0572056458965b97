"""Outputs appear under their final name only when complete."""

import pytest
from _toys import unwritable_folder

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


# ----------------------------------------------------------------------------- check_writable


def test_check_writable_accepts_new_and_existing_outputs(tmp_path):
    from seqsal.io.atomic import check_writable

    (tmp_path / "old.h5").write_text("x")
    (tmp_path / "folder").mkdir()
    assert check_writable(tmp_path / "a" / "b" / "new.h5") == tmp_path / "a" / "b" / "new.h5"
    assert check_writable(tmp_path / "old.h5") == tmp_path / "old.h5"
    assert check_writable(tmp_path / "folder", kind="folder") == tmp_path / "folder"
    assert check_writable(tmp_path / "folder", kind="folder-in-place") == tmp_path / "folder"
    # nothing is created: no missing folder, no probe file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "old.h5"]
    assert list((tmp_path / "folder").iterdir()) == []


@pytest.mark.parametrize(
    "setup, kind, words",
    [
        ("folder", "file", "is an existing folder"),
        ("file", "folder", "is an existing file"),
        ("file", "folder-in-place", "is an existing file"),
        ("under-file", "file", "is a file, so no folder can be made below it"),
        ("under-file", "folder", "is a file, so no folder can be made below it"),
    ],
)
def test_check_writable_refuses_in_one_line_naming_option_and_path(tmp_path, setup, kind, words):
    from seqsal.errors import InputError
    from seqsal.io.atomic import check_writable

    (tmp_path / "x").mkdir() if setup == "folder" else (tmp_path / "x").write_text("data")
    path = tmp_path / "x" / "deeper" / "out" if setup == "under-file" else tmp_path / "x"
    with pytest.raises(InputError) as info:
        check_writable(path, kind=kind, option="--result")
    message = str(info.value)
    assert words in message and "--result" in message and str(tmp_path / "x") in message
    assert "\n" not in message


@pytest.mark.parametrize("kind", ["file", "folder", "folder-in-place"])
def test_check_writable_refuses_a_folder_that_takes_no_files(tmp_path, kind):
    from seqsal.errors import InputError
    from seqsal.io.atomic import check_writable

    folder = unwritable_folder(tmp_path)
    if folder is None:
        pytest.skip("no folder refuses new files to this user")
    try:
        with pytest.raises(InputError, match="cannot write in folder") as info:
            check_writable(folder / "sub" / "out.h5", kind=kind)
        assert str(folder) in str(info.value) and "--out" in str(info.value)
    finally:
        if folder != tmp_path.parent and str(folder).startswith(str(tmp_path)):
            folder.chmod(0o755)
