"""models.images and zoo.ImageCNN: digits data, training, saving and loading image models."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from seqsal.attribution import conv_layer_names
from seqsal.errors import InputError, ModelError
from seqsal.io.images import read_images, write_image
from seqsal.models import load_model, zoo
from seqsal.models.images import (
    digits_dataset,
    load_image_model,
    save_image_model,
    train_digits_demo,
    train_image_classifier,
)

SMALL = {"channels": [8, 16, 16]}


@pytest.fixture(scope="session")
def trained():
    data = digits_dataset(8)
    result = train_image_classifier(
        data.X, data.y, class_names=data.class_names, arch_kwargs=SMALL, epochs=6, lr=1e-2
    )
    return data, result


def test_digits_are_sklearns_images_scaled_to_unit_range():
    from sklearn.datasets import load_digits

    digits = load_digits()
    native = digits_dataset(8, seed=None)
    assert native.X.shape == (1797, 1, 8, 8) and native.X.dtype == np.float32
    np.testing.assert_array_equal(native.X[:, 0], digits.images.astype(np.float32) / 16)
    np.testing.assert_array_equal(native.y, digits.target)
    assert native.class_names == [str(i) for i in range(10)]
    big = digits_dataset(32, seed=None)
    assert big.X.shape == (1797, 1, 32, 32) and 0 <= big.X.min() and big.X.max() <= 1
    # bilinear upsampling keeps each image's brightness (mean) within a few percent
    np.testing.assert_allclose(big.X.mean(axis=(1, 2, 3)), native.X.mean(axis=(1, 2, 3)), atol=0.03)
    shuffled = digits_dataset(8, seed=3)
    again = digits_dataset(8, seed=3)
    np.testing.assert_array_equal(shuffled.y, again.y)
    assert not np.array_equal(shuffled.y, native.y)
    assert sorted(map(tuple, shuffled.X.reshape(1797, -1))) == sorted(
        map(tuple, native.X.reshape(1797, -1))
    )


def test_training_learns_the_digits_on_a_stratified_split(trained):
    data, result = trained
    metrics = result.metrics
    assert metrics["test_accuracy"] > 0.5  # chance is 0.1
    split = result.split
    assert metrics["n_test"] == len(split["test"]) and metrics["n_train"] == len(split["train"])
    everything = np.concatenate([split["train"], split["val"], split["test"]])
    assert sorted(everything.tolist()) == list(range(len(data.y)))  # a partition
    for part in ("val", "test"):  # stratified: every class about 15%
        counts = np.bincount(data.y[split[part]], minlength=10)
        np.testing.assert_allclose(counts / np.bincount(data.y), 0.15, atol=0.01)
    meta = result.metadata
    assert meta["input_shape"] == [1, 8, 8]
    assert meta["normalisation"] == {"mean": [0.0], "std": [1.0]}
    json.dumps(meta)  # savable


def test_same_seed_same_weights_other_seed_other_weights():
    data = digits_dataset(8)
    X, y = data.X[:300], data.y[:300]

    def weights(seed):
        result = train_image_classifier(X, y, arch_kwargs=SMALL, epochs=1, seed=seed)
        return torch.cat([p.detach().flatten() for p in result.model.parameters()])

    first = weights(0)
    assert torch.equal(first, weights(0))
    assert not torch.equal(first, weights(1))


def test_normalise_records_the_training_statistics():
    data = digits_dataset(8)
    result = train_image_classifier(
        data.X[:200], data.y[:200], arch_kwargs=SMALL, epochs=1, normalise=True
    )
    train = data.X[:200][result.split["train"]]
    norm = result.metadata["normalisation"]
    np.testing.assert_allclose(norm["mean"], [train.mean()], rtol=1e-5)
    np.testing.assert_allclose(norm["std"], [train.std()], rtol=1e-4)


def test_saved_model_loads_with_its_metadata_and_reads_images_for_it(trained, tmp_path):
    data, result = trained
    path = save_image_model(
        result.model,
        tmp_path / "model",
        arch="imagecnn",
        arch_kwargs=result.arch_kwargs,
        class_names=data.class_names,
        input_shape=[1, 8, 8],
        mean=[0.25],
        std=[0.5],
    )
    loaded = load_image_model(path)
    assert loaded.targets == data.class_names and loaded.task == "classification"
    assert loaded.metadata["input_shape"] == [1, 8, 8]
    assert loaded.metadata["normalisation"] == {"mean": [0.25], "std": [0.5]}
    assert loaded.input_length is None and loaded.arch == "imagecnn"
    X = torch.from_numpy(data.X[:16])
    with torch.no_grad():
        torch.testing.assert_close(loaded.module(X), result.model(X), rtol=0, atol=0)
    # an image file written at another size comes back resized, grey and normalised
    write_image(tmp_path / "digit.png", np.kron(data.X[0, 0], np.ones((3, 3))))
    ready = read_images(tmp_path / "digit.png", metadata=loaded.metadata, resample="box")
    assert ready.shape == (1, 1, 8, 8)
    np.testing.assert_allclose(ready * 0.5 + 0.25, data.X[:1], atol=1 / 255)
    # the weights are verified
    weights = path / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ModelError, match="sha256"):
        load_image_model(path)


def test_torchscript_image_models_load_with_a_given_shape(trained, tmp_path):
    _, result = trained
    traced = torch.jit.trace(result.model, torch.zeros(1, 1, 8, 8))
    torch.jit.save(traced, str(tmp_path / "model.pt"))
    with pytest.raises(ModelError, match="input_shape"):
        load_image_model(tmp_path / "model.pt")
    loaded = load_image_model(tmp_path / "model.pt", input_shape=(1, 8, 8), mean=0.5, std=0.2)
    assert loaded.arch == "torchscript" and loaded.metadata["normalisation"]["mean"] == [0.5]
    X = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded.module(X), result.model(X))
    with pytest.raises(ModelError, match=r"\(2, 3, 8, 8\)"):
        load_image_model(tmp_path / "model.pt", input_shape=(3, 8, 8))
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "not_a_model.png")
    with pytest.raises(ModelError, match="not a TorchScript"):
        load_image_model(tmp_path / "not_a_model.png", input_shape=(1, 8, 8))
    with pytest.raises(ModelError, match="not found"):
        load_image_model(tmp_path / "missing")


def test_demo_model_folder(tmp_path):
    path = train_digits_demo(tmp_path / "demo", size=8, epochs=1)
    info = json.loads((path / "model.json").read_text())
    assert info["arch"] == "imagecnn" and info["input_length"] is None
    meta = info["metadata"]
    assert meta["input_shape"] == [1, 8, 8] and meta["input_kind"] == "image"
    assert "load_digits" in meta["data"] and 0 <= meta["metrics"]["test_accuracy"] <= 1
    loaded = load_image_model(path)
    assert loaded.module.last_conv == "features.conv4"
    with pytest.raises(InputError, match="not a seqsal model folder"):
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "x.txt").write_text("x")
        train_digits_demo(tmp_path / "other", size=8, epochs=1)


def test_image_cnn_layers_any_size_and_clear_input_errors():
    model = zoo.build("imagecnn", n_targets=3, task="classification", in_channels=3, seed=4)
    assert conv_layer_names(model) == [f"features.conv{i}" for i in range(1, 5)]
    with torch.no_grad():
        for h, w in [(1, 1), (7, 30), (32, 32)]:  # global pooling: any size
            assert model(torch.rand(2, 3, h, w)).shape == (2, 3)
    same = zoo.build("imagecnn", n_targets=3, task="classification", in_channels=3, seed=4)
    assert all(
        torch.equal(p, q) for p, q in zip(model.parameters(), same.parameters(), strict=True)
    )
    with pytest.raises(InputError, match=r"expected \(n, 3, H, W\)"):
        model(torch.rand(2, 4, 50))
    with pytest.raises(InputError, match="kernel_size=4"):
        zoo.build("imagecnn", n_targets=2, kernel_size=4)
    with pytest.raises(InputError, match="input_length=100"):
        zoo.build("imagecnn", n_targets=2, input_length=100)
    # the DNA loader refuses an image model with a clear message (it probes (2, 4, L))
    with pytest.raises(ModelError, match="input"):
        load_model(model)


def test_load_model_reads_an_image_model_folder(tmp_path):
    """seqsal.models.load_model knows an image folder by its metadata and checks it on
    (2, C, H, W); the result predicts what the saved module predicted."""
    import numpy as np
    import torch

    from seqsal.models import load_model, predict
    from seqsal.models.images import save_image_model
    from seqsal.models.zoo import build

    model = build("imagecnn", n_targets=3, in_channels=3, seed=1).eval()
    path = save_image_model(
        model,
        tmp_path / "m",
        arch="imagecnn",
        arch_kwargs={"in_channels": 3},
        class_names=["a", "b", "c"],
        input_shape=(3, 12, 18),
        mean=[0.1, 0.2, 0.3],
        std=[1.0, 2.0, 3.0],
    )
    loaded = load_model(path)
    assert loaded.input_length is None and loaded.targets == ["a", "b", "c"]
    assert list(loaded.metadata["input_shape"]) == [3, 12, 18]
    X = torch.rand(5, 3, 12, 18, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(X).numpy()
    np.testing.assert_allclose(predict(loaded, X), expected, rtol=1e-6, atol=1e-6)
