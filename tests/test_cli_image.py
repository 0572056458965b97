"""``seqsal image``: run in-process on real PNG files (grey and colour, not square) with tiny
image models; outputs are checked against direct library calls."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from seqsal import attribution as A
from seqsal.cli import main
from seqsal.image import smoothgrad_image_noise

METHODS = "saliency,grad_x_input,ig,smoothgrad,gradcam,occlusion"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# --------------------------------------------------------------------------- fixtures


def _save_model(folder: Path, *, in_channels: int, shape, mean, std, seed: int) -> Path:
    from seqsal.models import zoo
    from seqsal.models.images import save_image_model

    module = zoo.build(
        "imagecnn",
        n_targets=10,
        task="classification",
        in_channels=in_channels,
        channels=(4, 8),
        seed=seed,
    )
    return save_image_model(
        module,
        folder,
        arch="imagecnn",
        arch_kwargs={"in_channels": in_channels, "channels": [4, 8]},
        class_names=[str(i) for i in range(10)],
        input_shape=shape,
        mean=mean,
        std=std,
    )


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """Demo PNGs (grey 16 x 16 and colour 16 x 24) from `seqsal image demo-images`, two tiny
    models (grey 1 x 16 x 16 without normalisation; colour 3 x 12 x 18 with per-channel
    mean/std), a black PNG and a corrupt one."""
    from PIL import Image

    root = tmp_path_factory.mktemp("image-cli")
    pngs = root / "pngs"
    assert (
        main(["image", "demo-images", "--out", str(pngs), "--n", "3", "--size", "16", "--colour"])
        == 0
    )
    grey = root / "grey-model"
    _save_model(grey, in_channels=1, shape=(1, 16, 16), mean=None, std=None, seed=1)
    colour = root / "colour-model"
    _save_model(
        colour, in_channels=3, shape=(3, 12, 18), mean=[0.2, 0.3, 0.4], std=[0.5, 0.6, 0.7], seed=2
    )
    black = root / "black.png"
    Image.fromarray(np.zeros((12, 18, 3), dtype=np.uint8)).save(black)
    corrupt = root / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    return {
        "root": root,
        "pngs": pngs,
        "grey": sorted(pngs.glob("digit*.png")),
        "colour": sorted(pngs.glob("colour*.png")),
        "grey_model": grey,
        "colour_model": colour,
        "black": black,
        "corrupt": corrupt,
    }


def _load(folder):
    from seqsal.models.images import load_image_model

    return load_image_model(folder)


def _read(paths, model):
    from seqsal.io.images import read_images

    return np.asarray(read_images(paths, metadata=model.metadata), dtype=np.float32)


@pytest.fixture(scope="session")
def attributed(files, tmp_path_factory):
    """`seqsal image attribute` on grey and colour PNGs with the grey model, every method."""
    out = tmp_path_factory.mktemp("attr") / "out"
    paths = [*files["grey"], *files["colour"][:1]]
    argv = ["image", "attribute", "--model", str(files["grey_model"]), "--images"]
    argv += [str(p) for p in paths]
    argv += ["--methods", METHODS, "--target", "3", "--steps", "8", "--n-samples", "4"]
    argv += ["--window", "4", "--stride", "2", "--out", str(out), "--no-progress"]
    return out, paths, argv


def _run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own checks (--steps 0)
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.err


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.rows = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag == "a":
            self.links.append(attrs.get("href"))
        elif tag == "tr" and attrs.get("class") == "image-row":
            self.rows += 1


def _page(path):
    parser = _Page()
    parser.feed(Path(path).read_text())
    return parser


# --------------------------------------------------------------------------- demo images


def test_demo_images_are_the_digits(files):
    from PIL import Image

    from seqsal.models.images import digits_dataset

    labels = (files["pngs"] / "labels.tsv").read_text().splitlines()
    assert labels[0] == "file\tlabel" and len(labels) == 1 + 6
    data = digits_dataset(16, seed=0)
    for k, path in enumerate(files["grey"]):
        with Image.open(path) as im:
            assert im.mode == "L" and im.size == (16, 16)
            pixels = np.asarray(im, dtype=np.float64) / 255
        row = np.flatnonzero(data.y == k)[0]  # one digit of each class in turn
        assert path.name == f"digit{k:02d}_{k}.png"
        np.testing.assert_allclose(pixels, data.X[row, 0], atol=0.5 / 255 + 1e-6)
    for path in files["colour"]:
        with Image.open(path) as im:
            assert im.mode == "RGB" and im.size == (24, 16)  # not square
            rgb = np.asarray(im, dtype=np.float64)
        assert not np.array_equal(rgb[..., 0], rgb[..., 1])  # tinted: really colour


# --------------------------------------------------------------------------- attribute


def test_attribute_maps_equal_library_calls(attributed, files, capsys):
    out, paths, argv = attributed
    code, err = _run(argv, capsys)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert re.match(r"seqsal image attribute: 4 images, 6 methods, [\d.]+ s -> ", lines[-1])
    model = _load(files["grey_model"])
    X = _read(paths, model)
    module = model.module
    with np.load(out / "maps.npz") as npz:
        maps = {k: npz[k] for k in npz.files}
    assert np.all(maps["target"] == 3)
    black = _read([files["black"]], model)  # a real black PNG, read as the model reads it
    expected = {
        "saliency": A.saliency(module, X, target=3),
        "grad_x_input": A.grad_x_input(module, X, target=3),
        "ig": A.integrated_gradients(module, X, target=3, steps=8, baseline=black).attributions,
        "smoothgrad": A.smoothgrad(
            module, X, target=3, noise=smoothgrad_image_noise(X, n_samples=4, seed=0)
        ),
        "gradcam": A.gradcam(module, X, target=3),
        "occlusion": A.occlusion(module, X, target=3, window=(4, 4), stride=(2, 2), baseline=black),
    }
    for method, value in expected.items():
        assert maps[method].shape == (4, 1, 16, 16)
        np.testing.assert_allclose(
            maps[method], value.numpy(), rtol=1e-6, atol=1e-7, err_msg=method
        )
    # the colour PNG (16 x 24) was read as the grey model's 16 x 16 input; images for display
    np.testing.assert_allclose(maps["images"], X, atol=1e-6)  # mean 0, std 1: the same
    # one overlay per (image, method), each the size of the image times the display scale
    from PIL import Image

    overlays = sorted((out / "overlays").iterdir())
    assert len(overlays) == 4 * 6
    with Image.open(out / "overlays" / "digit00_0.ig.png") as im:
        assert im.size == (256, 256)
    with Image.open(out / "grid.png") as im:
        assert im.size[0] > 600 and im.size[1] > 400
    run = json.loads((out / "run.json").read_text())
    assert run["provenance"]["model sha256"] == model.checksum
    assert run["methods"]["ig"] == {"baseline": "black", "steps": 8, "rule": "riemann_middle"}
    assert run["methods"]["gradcam"] == {"layer": "features.conv2"}


def test_gallery_inlines_every_map_and_fetches_nothing(attributed, files, capsys):
    import torch

    out, paths, argv = attributed
    if not (out / "gallery.html").exists():
        assert main(argv) == 0
    html = (out / "gallery.html").read_text()
    page = _page(out / "gallery.html")
    maps = [im for im in page.images if im.get("class") == "map"]
    assert len(maps) == len(paths) * 6 and page.rows == len(paths)
    assert [im["data-method"] for im in maps] == METHODS.split(",") * len(paths)
    assert all(im["src"].startswith("data:image/png;base64,") for im in page.images)
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", html)
    for href in page.links:  # every link is a file beside the page
        assert (out / href).exists(), href
    # each inline map is the overlay PNG written to overlays/
    first = base64.b64decode(maps[2]["src"].split(",", 1)[1])
    assert first == (out / "overlays" / f"{paths[0].stem}.ig.png").read_bytes()
    # predicted class and probability as the model gives them
    model = _load(files["grey_model"])
    with torch.no_grad():
        probs = torch.softmax(model.module(torch.from_numpy(_read(paths, model))), dim=1).numpy()
    for k in range(len(paths)):
        assert f"class <b>{probs[k].argmax()}</b><br>p = {probs[k].max():.3f}" in html
    assert model.checksum in html and "seqsal" in html and "steps=8" in html


def test_colour_model_non_square_predicted_targets(files, tmp_path, capsys):
    out = tmp_path / "colour"
    argv = ["image", "attribute", "--model", str(files["colour_model"]), "--images"]
    argv += [str(files["pngs"]), "--methods", "saliency,gradcam,ig", "--steps", "4"]
    argv += ["--baseline", "blur", "--out", str(out), "--no-progress"]
    code, err = _run(argv, capsys)
    assert code == 0, err
    model = _load(files["colour_model"])
    paths = sorted(p for p in files["pngs"].iterdir() if p.suffix == ".png")
    X = _read(paths, model)
    assert X.shape == (6, 3, 12, 18)
    import torch

    with torch.no_grad():
        predicted = model.module(torch.from_numpy(X)).argmax(dim=1).numpy()
    with np.load(out / "maps.npz") as npz:
        np.testing.assert_array_equal(npz["target"], predicted)
        for i in range(len(paths)):  # each image explained for its own predicted class
            expected = A.saliency(model.module, X[i : i + 1], target=int(predicted[i]))
            np.testing.assert_allclose(npz["saliency"][i : i + 1], expected.numpy(), atol=1e-7)
        from seqsal.attribution.baselines import gaussian_blur

        i, t = 0, int(predicted[0])
        ig = A.integrated_gradients(
            model.module, X[:1], target=t, steps=4, baseline=gaussian_blur(X[:1])
        ).attributions
        np.testing.assert_allclose(npz["ig"][:1], ig.numpy(), rtol=1e-5, atol=1e-7)
        # display images are the PNGs in [0, 1], not the normalised model input
        assert npz["images"].min() >= 0 and npz["images"].max() <= 1
    assert _page(out / "gallery.html").rows == 6


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "case, pattern",
    [
        ("missing", r"nope\.png"),
        ("corrupt", r"corrupt\.png"),
        ("method", r"unknown method shap"),
        ("model", r"--model .*no such file"),
        ("out", r"is not a seqsal image output folder"),
        ("steps", r"--steps: '0'; expected a positive integer"),
    ],
)
def test_errors_are_one_line_exit_2_and_leave_no_output(files, tmp_path, capsys, case, pattern):
    out = tmp_path / "out"
    images = [str(files["grey"][0])]
    model = str(files["grey_model"])
    extra = []
    if case == "missing":
        images.append(str(tmp_path / "nope.png"))
    elif case == "corrupt":
        images.append(str(files["corrupt"]))
    elif case == "method":
        extra = ["--methods", "saliency,shap"]
    elif case == "model":
        model = str(tmp_path / "no-model")
    elif case == "out":
        out.mkdir()
        (out / "precious.txt").write_text("keep me")
    elif case == "steps":
        extra = ["--steps", "0"]
    argv = ["image", "attribute", "--model", model, "--images", *images, "--out", str(out)]
    code, err = _run([*argv, *extra, "--no-progress"], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert re.match(r"seqsal image( attribute)?: error: ", err), err
    assert re.search(pattern, err), err
    assert "Traceback" not in err
    if case == "out":
        assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]
    else:
        assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temp folder


def test_rerun_replaces_an_earlier_output(attributed, files, tmp_path, capsys):
    out = tmp_path / "again"
    argv = ["image", "attribute", "--model", str(files["grey_model"]), "--images"]
    argv += [str(files["grey"][0]), "--methods", "saliency", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    argv[argv.index("saliency")] = "gradcam"
    argv[argv.index("--images") + 1 : argv.index("--images") + 2] = map(str, files["grey"])
    assert main([*argv, "--gallery-rows", "2"]) == 0
    with np.load(out / "maps.npz") as npz:
        assert "gradcam" in npz.files and "saliency" not in npz.files
    # the gallery shows the first 2 of 3 images; overlays/ holds all
    assert _page(out / "gallery.html").rows == 2 and len(list((out / "overlays").iterdir())) == 3
    assert "3 images (the first 2 shown here" in (out / "gallery.html").read_text()
    capsys.readouterr()


def test_digits_demo_name_uses_the_cache(files, tmp_path, capsys):
    cache = tmp_path / "cache"
    shutil.copytree(files["grey_model"], cache / "models" / "digits-demo")
    out = tmp_path / "demo"
    argv = ["image", "attribute", "--model", "digits-demo", "--cache", str(cache)]
    argv += ["--images", str(files["grey"][0]), "--methods", "saliency", "--out", str(out)]
    code, err = _run([*argv, "--no-progress"], capsys)
    assert code == 0, err
    run = json.loads((out / "run.json").read_text())
    assert run["provenance"]["model"] == str(cache / "models" / "digits-demo")
    assert run["provenance"]["model sha256"] == _load(files["grey_model"]).checksum


def test_torchscript_model_with_input_shape(files, tmp_path, capsys):
    import torch

    module = _load(files["grey_model"]).module
    scripted = tmp_path / "model.pt"
    with warnings.catch_warnings():  # TorchScript is deprecated but still the one-file format
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.trace(module, torch.zeros(1, 1, 16, 16)).save(str(scripted))
    out = tmp_path / "ts"
    argv = ["image", "attribute", "--model", str(scripted), "--input-shape", "1,16,16"]
    argv += ["--images", str(files["grey"][1]), "--methods", "grad_x_input", "--target", "5"]
    code, err = _run([*argv, "--out", str(out), "--no-progress"], capsys)
    assert code == 0, err
    X = _read([files["grey"][1]], _load(files["grey_model"]))
    with np.load(out / "maps.npz") as npz:
        expected = A.grad_x_input(module, X, target=5).numpy()
        np.testing.assert_allclose(npz["grad_x_input"], expected, rtol=1e-5, atol=1e-7)
    # without the shape the TorchScript file says nothing about its input: one-line error
    code, err = _run([*argv[:4], *argv[6:], "--out", str(tmp_path / "no"), "--no-progress"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "input_shape" in err, err
    assert not (tmp_path / "no").exists()


# --------------------------------------------------------------------------- evaluate, sanity


def test_evaluate_matches_the_library(files, tmp_path, capsys):
    from seqsal.evaluate.faithfulness import faithfulness

    out = tmp_path / "eval"
    paths = files["grey"][:2]
    argv = ["image", "evaluate", "--model", str(files["grey_model"]), "--images"]
    argv += [*map(str, paths), "--methods", "grad_x_input,saliency", "--target", "2"]
    argv += ["--eval-steps", "8", "--n-random", "2", "--out", str(out), "--no-progress"]
    code, err = _run(argv, capsys)
    assert code == 0, err
    assert "lowest deletion AUC" in err.strip().splitlines()[-1]
    import pandas as pd

    table = pd.read_csv(out / "faithfulness.tsv", sep="\t")
    model = _load(files["grey_model"])
    X = _read(paths, model)
    with np.load(out / "maps.npz") as npz:
        gxi, sal = npz["grad_x_input"], npz["saliency"]
    for method, maps, reduce in (("grad_x_input", gxi, "sum"), ("saliency", sal, "abs")):
        direct = faithfulness(
            model.module,
            X,
            maps,
            target=np.full(2, 2),
            baseline=0.0,
            start="blur",
            reduce=reduce,
            steps=8,
            n_random=2,
            seed=0,
        ).table([p.stem for p in paths])
        mine = table[table["method"] == method].reset_index(drop=True)
        np.testing.assert_allclose(mine["auc"], direct["auc"], rtol=1e-5)
        np.testing.assert_allclose(mine["random_auc"], direct["random_auc"], rtol=1e-5)
    page = _page(out / "gallery.html")
    figures = [im for im in page.images if im.get("class") == "figure"]
    assert len(figures) == 1 + 2  # the grid and one curves figure per method
    html = (out / "gallery.html").read_text()
    assert "Faithfulness: deletion and insertion" in html
    assert {"curves.grad_x_input.png", "curves.saliency.png"} <= {p.name for p in out.iterdir()}


def test_sanity_matches_the_library(files, tmp_path, capsys):
    from seqsal.evaluate.sanity import parameter_randomization

    out = tmp_path / "sanity"
    paths = files["grey"][:2]
    argv = ["image", "sanity", "--model", str(files["grey_model"]), "--images"]
    argv += [*map(str, paths), "--methods", "saliency", "--target", "1"]
    argv += ["--out", str(out), "--no-progress"]
    code, err = _run(argv, capsys)
    assert code == 0, err
    import pandas as pd

    table = pd.read_csv(out / "sanity.tsv", sep="\t")
    model = _load(files["grey_model"])
    direct = parameter_randomization(model.module, _read(paths, model), "saliency", target=1)
    np.testing.assert_allclose(table["spearman_abs"], direct["spearman_abs"], rtol=1e-6)
    np.testing.assert_allclose(table["ssim"], direct["ssim"], rtol=1e-6)
    assert list(table["layer"]) == list(direct["layer"])
    assert table.loc[0, "mode"] == "original" and table.loc[0, "spearman_abs"] == pytest.approx(1)
    assert "Sanity: model parameter randomisation" in (out / "gallery.html").read_text()


# --------------------------------------------------------------------------- browser


def _chromium(args, tmp_path):
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run(command, capture_output=True, text=True, timeout=90, env=env)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_gallery_in_headless_chromium(attributed, tmp_path):
    from PIL import Image

    out, paths, argv = attributed
    if not (out / "gallery.html").exists():
        assert main(argv) == 0
    url = (out / "gallery.html").resolve().as_uri()
    dom = _chromium(["--virtual-time-budget=2000", "--dump-dom", url], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = _Page()
    parser.feed(dom.stdout)
    assert len([im for im in parser.images if im.get("class") == "map"]) == len(paths) * 6
    shot = tmp_path / "shot.png"
    result = _chromium(["--window-size=1400,1200", f"--screenshot={shot}", url], tmp_path)
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    with Image.open(shot) as im:
        pixels = np.asarray(im.convert("RGB"), dtype=np.float64)
    assert pixels.std() > 10, "the screenshot is blank"
    # the overlays are drawn: strongly coloured (red or blue) pixels, not only grey text
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert (saturation > 80).mean() > 0.01


# --------------------------------------------------------------------------- TorchScript, skipped methods


def _scriptable_cnn(seed=3):
    """A grey 1 x 16 x 16 CNN with plain attribute layers (``conv4`` the last convolution),
    scriptable with torch.jit.script."""
    import torch
    from torch import nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.conv4 = nn.Conv2d(4, 6, 3, padding=1)
            self.fc = nn.Linear(6, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.conv1(x)))
            return self.fc(torch.relu(self.conv4(x)).mean(dim=(2, 3)))

    torch.manual_seed(seed)
    return CNN().eval()


def _save_script(module, path):
    import torch

    with warnings.catch_warnings():  # TorchScript is deprecated but still the one-file format
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), str(path))
    return path


def test_gradcam_on_a_scripted_model(files, tmp_path, capsys):
    eager = _scriptable_cnn()
    scripted = _save_script(eager, tmp_path / "cnn.pt")
    paths = files["grey"][:3]
    X = _read(paths, _load(files["grey_model"]))  # grey 16 x 16, no normalisation
    base = ["--model", str(scripted), "--input-shape", "1,16,16", "--images", *map(str, paths)]
    # the command: evaluate with --methods gradcam --layer conv4
    out = tmp_path / "named"
    argv = ["image", "evaluate", *base, "--methods", "gradcam", "--layer", "conv4"]
    code, err = _run([*argv, "--target", "4", "--eval-steps", "4", "--out", str(out)], capsys)
    assert code == 0, err
    with np.load(out / "maps.npz") as npz:
        expected = A.gradcam(eager, X, layer="conv4", target=4).numpy()
        assert np.abs(expected).max() > 0
        np.testing.assert_allclose(npz["gradcam"], expected, atol=1e-6, rtol=0)
    assert (out / "curves.gradcam.png").exists()
    # the default method list runs every method, Grad-CAM on the last convolution
    out = tmp_path / "default"
    code, err = _run(["image", "attribute", *base, "--steps", "4", "--out", str(out)], capsys)
    assert code == 0, err
    assert re.search(r": 3 images, 6 methods, ", err.strip().splitlines()[-1]), err
    with np.load(out / "maps.npz") as npz:
        for i, t in enumerate(npz["target"]):
            expected = A.gradcam(eager, X[i : i + 1], target=int(t)).numpy()
            np.testing.assert_allclose(npz["gradcam"][i : i + 1], expected, atol=1e-6, rtol=0)
    run = json.loads((out / "run.json").read_text())
    assert run["methods"]["gradcam"] == {"layer": "conv4"} and "skipped" not in run


def _mlp(path):
    import torch
    from torch import nn

    torch.manual_seed(0)
    module = nn.Sequential(nn.Flatten(), nn.Linear(256, 12), nn.ReLU(), nn.Linear(12, 10))
    return module.eval(), _save_script(module.eval(), path)


@pytest.mark.parametrize("action", ["attribute", "sanity"])
def test_default_methods_skip_what_the_model_cannot_run(files, tmp_path, capsys, caplog, action):
    eager, scripted = _mlp(tmp_path / "mlp.pt")
    paths = files["grey"][:2]
    out = tmp_path / "out"
    argv = ["image", action, "--model", str(scripted), "--input-shape", "1,16,16", "--images"]
    argv += [*map(str, paths), "--steps", "4", "--n-samples", "3", "--target", "1"]
    with caplog.at_level("WARNING"):
        code, err = _run([*argv, "--out", str(out), "--no-progress"], capsys)
    assert code == 0, err
    warnings_ = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings_) == 1 and "\n" not in warnings_[0], warnings_
    assert warnings_[0].startswith("gradcam skipped: ") and "no Conv1d/Conv2d layer" in warnings_[0]
    assert "5 methods (gradcam skipped)" in err.strip().splitlines()[-1]
    X = _read(paths, _load(files["grey_model"]))
    with np.load(out / "maps.npz") as npz:
        assert "gradcam" not in npz.files
        ran = [m for m in METHODS.split(",") if m != "gradcam"]
        assert all(m in npz.files for m in ran)
        np.testing.assert_allclose(
            npz["saliency"], A.saliency(eager, X, target=1).numpy(), rtol=1e-6, atol=1e-7
        )
    run = json.loads((out / "run.json").read_text())
    assert list(run["skipped"]) == ["gradcam"] and "gradcam" not in run["methods"]
    html = (out / "gallery.html").read_text()
    assert re.search(r"Not run on this model: <b>gradcam</b> \([^)]*no Conv1d/Conv2d layer", html)
    maps = [im for im in _page(out / "gallery.html").images if im.get("class") == "map"]
    assert {im["data-method"] for im in maps} == set(ran)
    if action == "sanity":
        import pandas as pd

        assert list(dict.fromkeys(pd.read_csv(out / "sanity.tsv", sep="\t")["method"])) == ran


def test_a_named_method_the_model_cannot_run_is_an_error(files, tmp_path, capsys):
    _, scripted = _mlp(tmp_path / "mlp.pt")
    out = tmp_path / "out"
    argv = ["image", "evaluate", "--model", str(scripted), "--input-shape", "1,16,16"]
    argv += ["--images", str(files["grey"][0]), "--methods", "saliency,gradcam"]
    code, err = _run([*argv, "--out", str(out), "--no-progress"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert re.match(
        r"seqsal image: error: method 'gradcam' cannot run on this model: .*Conv1d", err
    )
    assert not out.exists()


def test_a_head_of_a_dict_output_model(files, tmp_path, capsys):
    """--output picks one head of an image model returning a dict; its maps are the library's
    on the model returning that head alone; a missing head is a one-line error."""
    import torch

    module = _load(files["grey_model"]).module

    class Heads(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            logits = self.inner(x)
            return {"logits": logits, "total": logits.sum(dim=1)}

    scripted = tmp_path / "heads.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(Heads(module).eval(), torch.zeros(1, 1, 16, 16), strict=False).save(
            str(scripted)
        )
    argv = ["image", "attribute", "--model", str(scripted), "--input-shape", "1,16,16"]
    argv += ["--images", str(files["grey"][1]), str(files["grey"][2])]
    argv += ["--methods", "saliency,grad_x_input", "--no-progress"]
    out = tmp_path / "logits"
    code, err = _run([*argv, "--output", "logits", "--target", "5", "--out", str(out)], capsys)
    assert code == 0, err
    X = _read(files["grey"][1:3], _load(files["grey_model"]))
    with np.load(out / "maps.npz") as npz:
        np.testing.assert_allclose(
            npz["saliency"], A.saliency(module, X, target=5).numpy(), rtol=1e-5, atol=1e-7
        )
        total = A.grad_x_input(module, X, target=lambda out: out.sum(dim=1)).numpy()
    out = tmp_path / "total"
    code, err = _run([*argv, "--output", "total", "--out", str(out)], capsys)
    assert code == 0, err
    with np.load(out / "maps.npz") as npz:
        np.testing.assert_allclose(npz["grad_x_input"], total, rtol=1e-5, atol=1e-6)
    out = tmp_path / "cam"
    cam = [*argv[:-3], "--methods", "gradcam", "--layer", "inner.features.conv2", "--no-progress"]
    code, err = _run([*cam, "--output", "logits", "--target", "5", "--out", str(out)], capsys)
    assert code == 0, err
    with np.load(out / "maps.npz") as npz:
        expected = A.gradcam(module, X, target=5, layer="features.conv2").numpy()
        np.testing.assert_allclose(npz["gradcam"], expected, rtol=1e-5, atol=1e-6)
    code, err = _run([*argv, "--output", "probs", "--out", str(tmp_path / "no")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "output='probs' is not a head" in err and "logits (n, 10), total (n,)" in err, err
    assert not (tmp_path / "no").exists()
