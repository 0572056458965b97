"""``seqsal seqlets --null``: the control store must be a null for the observed one (same
model, target, method, settings and window length), or the call is refused in one line."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from seqsal.cli import main
from seqsal.errors import InputError
from seqsal.io.store import AttributionStore, open_store
from seqsal.seqlets import check_control_store

LENGTH = 30


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A genome, regions and two models (different weights)."""
    from seqsal.models import zoo
    from seqsal.models.load import save_model

    root = tmp_path_factory.mktemp("control")
    rng = np.random.default_rng(2)
    (root / "genome.fa").write_text(">chr1\n" + "".join(rng.choice(list("ACGT"), 400)) + "\n")
    pd.DataFrame(
        {"chrom": "chr1", "start": np.arange(8) * 45, "end": np.arange(8) * 45 + LENGTH}
    ).to_csv(root / "regions.bed", sep="\t", header=False, index=False)
    for name, seed in (("model", 1), ("other_model", 2)):
        save_model(
            zoo.build("cnn", input_length=LENGTH, n_targets=2, seed=seed),
            root / name,
            arch="cnn",
            arch_kwargs={},
            input_length=LENGTH,
            targets=["a", "b"],
            task="regression",
        )
    return root


def _attribute(data, out, *extra, model="model"):
    argv = [
        "attribute",
        "--model", data / model,
        "--fasta", data / "genome.fa",
        "--regions", data / "regions.bed",
        "--out", out,
        "--method", "ig",
        "--steps", 2,
        "--baseline", "shuffle:2",
        "--no-progress",
        *extra,
    ]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    return out


@pytest.fixture(scope="module")
def stores(data, tmp_path_factory):
    """The observed store and controls made with the same or other settings."""
    root = tmp_path_factory.mktemp("stores")
    made = {
        "observed": _attribute(data, root / "observed.h5"),
        "control": _attribute(data, root / "control.h5", "--shuffle-control"),
        "other model": _attribute(data, root / "m.h5", "--shuffle-control", model="other_model"),
        "other target": _attribute(data, root / "t.h5", "--shuffle-control", "--target", "b"),
        "other method": _attribute(
            data, root / "s.h5", "--shuffle-control", "--method", "saliency"
        ),
        "other steps": _attribute(data, root / "k.h5", "--shuffle-control", "--steps", 3),
        "other rc_average": _attribute(data, root / "c.h5", "--shuffle-control", "--rc-average"),
        "other seed": _attribute(data, root / "seed.h5", "--shuffle-control", "--seed", 5),
    }
    return made


def _check(observed, control):
    with open_store(observed) as a, open_store(control) as b:
        return check_control_store(a, b)


def test_a_control_made_with_the_same_settings_passes(stores):
    assert _check(stores["observed"], stores["control"]) == []
    # the seed only changes which shuffles are drawn: still a null
    assert _check(stores["observed"], stores["other seed"]) == []


@pytest.mark.parametrize(
    "which, key, values",
    [
        ("other model", "model_checksum", None),
        ("other target", "target", ("'b'", "'a'")),
        ("other method", "method", ("'saliency'", "'ig'")),
        ("other steps", "steps", ("3", "2")),
        ("other rc_average", "rc_average", ("True", "False")),
    ],
)
def test_a_control_from_other_settings_is_refused_naming_both_values(stores, which, key, values):
    with pytest.raises(InputError) as info:
        _check(stores["observed"], stores[which])
    message = str(info.value)
    assert message.startswith(f"{key} is ") and "\n" not in message
    assert str(stores[which]) in message and str(stores["observed"]) in message
    if values is None:
        with open_store(stores[which]) as b, open_store(stores["observed"]) as a:
            values = (repr(b.attrs[key]), repr(a.attrs[key]))
        assert values[0] != values[1]
    assert f"{key} is {values[0]} in the control store" in message
    assert f"but {values[1]} in the attribution store" in message


def test_the_roles_and_the_window_length_are_checked(stores, tmp_path):
    with pytest.raises(InputError, match="is not a shuffled-control store"):
        _check(stores["observed"], stores["observed"])
    with pytest.raises(InputError, match="is a shuffled-control store"):
        _check(stores["control"], stores["control"])
    with open_store(stores["control"]) as control:
        attrs, X = dict(control.attrs), control.raw[:, :, :20]
    short = tmp_path / "short.h5"
    with AttributionStore(short, length=20, attrs=attrs) as store:
        store.append(X, np.zeros_like(X))
    with pytest.raises(InputError, match=r"windows are 20 bp in the control store .* but 30 bp"):
        _check(stores["observed"], short)


def test_stores_without_provenance_are_used_with_a_warning(stores, tmp_path, caplog):
    """Stores written before seqsal recorded these attributes, or by another tool."""
    with open_store(stores["observed"]) as observed:
        X, hyp = observed.raw[:], observed.hypothetical[:]
    bare = []
    for name in ("a.h5", "b.h5"):
        bare.append(tmp_path / name)
        with AttributionStore(bare[-1], length=LENGTH) as store:
            store.append(X, hyp)
    with caplog.at_level(logging.WARNING, logger="seqsal"):
        unchecked = _check(bare[0], bare[1])
    assert any("records its model and settings" in u for u in unchecked)
    assert any("whether it is a control" in u for u in unchecked)
    assert "cannot check the null" in caplog.text
    with caplog.at_level(logging.WARNING, logger="seqsal"):
        unchecked = _check(stores["observed"], bare[1])
    assert f"{bare[1]} does not record method" in unchecked


def test_the_command_refuses_a_mismatched_null_in_one_line(stores, tmp_path, capsys):
    out = tmp_path / "seqlets.bed"
    argv = ["seqlets", "--store", str(stores["observed"]), "--out", str(out), "--no-progress"]
    assert main([*argv, "--null", str(stores["other method"])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("seqsal seqlets: error: method is 'saliency'")
    assert not out.exists()
    assert main([*argv, "--null", str(stores["control"])]) == 0
    assert out.is_file()


def test_head_settings_compare_as_unset_when_a_store_lacks_them(stores, tmp_path, caplog):
    """output / reduce / positions are written only for a head target: a store of a plain
    target compares as "" for them (no warning), and a different head setting is refused."""
    with open_store(stores["control"]) as control:
        attrs, X, hyp = dict(control.attrs), control.raw[:], control.hypothetical[:]
    made = {}
    for name, extra in {"unset": {}, "positions": {"positions": "0:10"}}.items():
        made[name] = tmp_path / f"{name}.h5"
        head = {"output": "", "reduce": "", "positions": "", **extra}
        with AttributionStore(made[name], length=LENGTH, attrs={**attrs, **head}) as store:
            store.append(X, hyp)
    with caplog.at_level(logging.WARNING, logger="seqsal"):
        assert _check(stores["observed"], made["unset"]) == []
    assert "cannot check the null" not in caplog.text
    with pytest.raises(InputError, match=r"positions is '0:10' in the control store .* but ''"):
        _check(stores["observed"], made["positions"])
