"""models.files: the model folder and TorchScript metadata, read and written in one place;
image models load through the same path as DNA models."""

import json
import logging
import warnings

import numpy as np
import pytest
import torch

from seqsal.errors import InputError, ModelError
from seqsal.io.checksum import sha256_file
from seqsal.models import files, load_image_model, load_model, predict, save_image_model, zoo

L = 60


@pytest.fixture
def cnn():
    return zoo.build("cnn", input_length=L, n_targets=2, filters=4, hidden=3, seed=1)


def _write(folder, model, **extra):
    folder.mkdir()
    return files.write_model_files(
        folder,
        model,
        arch="cnn",
        arch_kwargs={"filters": 4, "hidden": 3},
        input_length=L,
        targets=["a", "b"],
        task="regression",
        metadata={"note": "x", **extra},
    )


def test_folder_round_trip_records_every_fact_and_the_checksum(tmp_path, cnn):
    info = _write(tmp_path / "m", cnn)
    assert info["format"] == files.FORMAT and info["format_version"] == files.FORMAT_VERSION
    assert info["arch_kwargs"] == {**zoo.default_kwargs("cnn"), "filters": 4, "hidden": 3}
    assert info["weights_sha256"] == sha256_file(tmp_path / "m" / files.WEIGHTS)
    assert json.loads((tmp_path / "m" / files.MODEL_JSON).read_text()) == info
    read = files.read_model_folder(tmp_path / "m")
    assert (read.input_length, read.targets, read.task) == (L, ["a", "b"], "regression")
    assert read.metadata == {"note": "x"} and read.checksum == info["weights_sha256"]
    assert read.input_shape is None and read.weights == tmp_path / "m" / files.WEIGHTS
    assert read.state.keys() == cnn.state_dict().keys()
    assert all(torch.equal(read.state[k], v) for k, v in cnn.state_dict().items())
    with pytest.raises(InputError, match="metadata must be JSON-serializable"):
        _write(tmp_path / "bad", cnn, tensor=torch.zeros(1))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"model\.json: not valid JSON"),
        ("[1, 2]", "holds a JSON list; expected an object"),
        ('{"format": "other"}', "format 'other'; expected 'seqsal-model'"),
        ('{"format": "seqsal-model", "format_version": 99}', "newer than this seqsal reads"),
        ('{"format": "seqsal-model", "format_version": 1}', "missing key 'arch'"),
    ],
)
def test_bad_model_json_is_named_with_what_is_wrong(tmp_path, content, message):
    (tmp_path / files.MODEL_JSON).write_text(content)
    with pytest.raises(ModelError, match=message) as err:
        load_model(tmp_path)
    assert str(tmp_path) in str(err.value)
    if content.startswith("{") and content != "{not json":
        assert files.read_model_json(tmp_path, check=False) == json.loads(content)


def test_training_files_and_the_folder_listing(tmp_path, cnn):
    _write(tmp_path / "m", cnn)
    history = [
        {
            "epoch": 1,
            "lr": 0.003,
            "train_loss": 0.5,
            "val_loss": 0.4,
            "seconds": 1.25,
            "best": False,
        },
        {
            "epoch": 2,
            "lr": 0.0009,
            "train_loss": 0.3,
            "val_loss": 0.2,
            "seconds": 1.5,
            "best": True,
        },
    ]
    files.write_training_files(tmp_path / "m", {"val": {"pearson": 0.5}}, history)
    assert files.read_metrics(tmp_path / "m") == {"val": {"pearson": 0.5}}
    assert (tmp_path / "m" / files.HISTORY_TSV).read_text().splitlines() == [
        "epoch\tlr\ttrain_loss\tval_loss\tseconds\tbest",
        "1\t0.003\t0.5\t0.4\t1.25\t0",
        "2\t0.0009\t0.3\t0.2\t1.5\t1",
    ]
    assert [p.name for p in files.folder_files(tmp_path / "m")] == [
        "model.json",
        "metrics.json",
        "weights.pt",
        "history.tsv",
    ]
    assert files.read_metrics(tmp_path) is None


def _trace(module, shape):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.trace(module.eval(), torch.zeros(1, *shape))


def test_torchscript_metadata_recorded_absent_or_unreadable(tmp_path, cnn, caplog):
    traced = _trace(cnn, (4, L))
    files.write_torchscript(
        traced, tmp_path / "m.pt", input_length=L, targets=["a", "b"], task="regression"
    )
    read = files.read_torchscript(tmp_path / "m.pt")
    assert (read.input_length, read.targets, read.task, read.arch) == (
        L,
        ["a", "b"],
        "regression",
        "torchscript",
    )
    assert read.checksum == sha256_file(tmp_path / "m.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(traced, str(tmp_path / "plain.pt"))
        torch.jit.save(traced, str(tmp_path / "odd.pt"), _extra_files={"seqsal.json": "[oops"})
    plain = files.read_torchscript(tmp_path / "plain.pt")
    assert (plain.input_length, plain.targets, plain.task, plain.metadata) == (None, None, None, {})
    with caplog.at_level(logging.WARNING, logger="seqsal.models.files"):
        odd = files.read_torchscript(tmp_path / "odd.pt")
    assert odd.metadata == {} and "ignoring unreadable seqsal.json" in caplog.text
    with pytest.raises(ModelError, match="not a TorchScript file"):
        files.read_torchscript(tmp_path / "m.pt.missing")


def test_image_torchscript_with_recorded_shape_loads_as_an_image_model(tmp_path):
    """seqsal.json may record an image model's shape and normalisation (at the top level or
    in metadata): load_model then checks it on (2, C, H, W), like an image folder."""
    model = zoo.build("imagecnn", n_targets=3, in_channels=2, channels=[4, 4], seed=2).eval()
    traced = _trace(model, (2, 6, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        info = {"input_shape": [2, 6, 5], "normalisation": {"mean": [0.5, 0.5], "std": [2, 2]}}
        torch.jit.save(
            traced, str(tmp_path / "img.pt"), _extra_files={"seqsal.json": json.dumps(info)}
        )
    loaded = load_model(tmp_path / "img.pt")
    assert loaded.input_length is None and loaded.targets == ["class_0", "class_1", "class_2"]
    assert loaded.metadata["input_shape"] == [2, 6, 5] and loaded.metadata["input_kind"] == "image"
    assert loaded.metadata["normalisation"] == {"mean": [0.5, 0.5], "std": [2.0, 2.0]}
    X = torch.rand(3, 2, 6, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        np.testing.assert_allclose(predict(loaded, X), model(X).numpy(), rtol=1e-6, atol=1e-6)
    again = load_image_model(tmp_path / "img.pt", std=[1.0, 4.0])
    assert again.metadata["normalisation"] == {"mean": [0.5, 0.5], "std": [1.0, 4.0]}


def test_image_folder_one_path_for_both_loaders(tmp_path):
    """load_model and load_image_model read an image folder the same way; names recorded in
    the folder win over names passed in (the loaders' documented rule)."""
    model = zoo.build("imagecnn", n_targets=2, in_channels=1, channels=[4], seed=0).eval()
    path = save_image_model(
        model,
        tmp_path / "m",
        arch="imagecnn",
        arch_kwargs={"in_channels": 1, "channels": [4]},
        class_names=["cat", "dog"],
        input_shape=(1, 7, 7),
    )
    a = load_model(path, targets=["x", "y"])
    b = load_image_model(path, targets=["x", "y"])
    for loaded in (a, b):
        assert loaded.targets == ["cat", "dog"] and loaded.input_length is None
        assert loaded.metadata["class_names"] == ["cat", "dog"]
        assert loaded.metadata["normalisation"] == {"mean": [0.0], "std": [1.0]}
        assert loaded.checksum == sha256_file(path / files.WEIGHTS)
    assert a.metadata == b.metadata and a.arch == b.arch == "imagecnn"
    with pytest.raises(InputError, match=r"expected 1 values each"):
        load_image_model(path, mean=[0.1, 0.2])
    with pytest.raises(ModelError, match=r"fails on input of shape \(2, 3, 7, 7\)"):
        load_image_model(path, input_shape=(3, 7, 7))


def test_report_lists_an_unreadable_model_json_as_an_error(tmp_path, cnn):
    from seqsal.plot.report import read_model_dir

    _write(tmp_path / "m", cnn, metrics={"val": {"pearson": 0.25}})
    model, metrics, listed = read_model_dir(tmp_path / "m")
    assert model["arch"] == "cnn" and model["metadata.note"] == "x"
    assert "metadata.metrics.val.pearson" not in model and metrics == {"val.pearson": "0.25"}
    (tmp_path / "m" / files.MODEL_JSON).write_text("{broken")
    model, metrics, listed = read_model_dir(tmp_path / "m")
    assert list(model) == ["error"] and "not valid JSON" in model["error"]
    assert [p.name for p in listed] == ["model.json", "weights.pt"]
