"""seqsal.plot.image: overlays, colour scales, grids, PNG files and the gallery page, checked
on the rendered pixels."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from seqsal.errors import InputError
from seqsal.plot import image as pi


def _image(channels=3, height=20, width=30, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 0.8, size=(channels, height, width))


def _as_uint8(image):
    return np.round(pi.image_rgb(image) * 255).astype(np.uint8)


# --------------------------------------------------------------------------- overlays


@pytest.mark.parametrize("channels", [1, 3])
def test_positive_map_in_one_quadrant_colours_only_that_quadrant(channels):
    image = _image(channels)
    heat = np.zeros((channels, 20, 30))
    heat[:, :10, :15] = np.random.default_rng(1).uniform(0.5, 1.0, size=(channels, 10, 15))
    out = pi.overlay(image, heat, opacity=0.8).astype(int)
    plain = _as_uint8(image).astype(int)
    changed = np.abs(out - plain).max(axis=2) > 0
    assert changed[:10, :15].all()
    assert not changed[10:, :].any() and not changed[:, 15:].any()


def test_opacity_zero_gives_back_the_image():
    image = _image(3)
    heat = np.random.default_rng(2).normal(size=(3, 20, 30))
    for scale_opacity in (True, False):
        out = pi.overlay(image, heat, opacity=0.0, scale_opacity=scale_opacity)
        np.testing.assert_array_equal(out, _as_uint8(image))


def test_opacity_one_uniform_blend_is_the_colormap():
    """With opacity 1 and uniform blending every pixel is the colormap's colour of its value."""
    import matplotlib

    image = _image(1, 8, 8)
    heat = np.linspace(-2, 2, 64).reshape(8, 8)
    out = pi.overlay(image, heat, opacity=1.0, scale_opacity=False, percentile=100)
    expected = matplotlib.colormaps[pi.SIGNED_CMAP]((heat + 2) / 4)[..., :3]
    np.testing.assert_array_equal(out, np.round(expected * 255).astype(np.uint8))


def test_diverging_scale_is_symmetric_and_centred_at_zero():
    heat = np.array([[-1.0, 0.0, 3.0]])
    vmin, vmax = pi.heat_limits(heat, percentile=100)
    assert (vmin, vmax) == (-3.0, 3.0)
    norm = pi.heat_norm(heat, percentile=100)
    assert norm.vmin == -norm.vmax and norm(0.0) == pytest.approx(0.5)
    # equal magnitudes of opposite sign get mirror colours of the diverging map: red vs blue
    mirror = np.array([[-2.0, 0.0, 2.0]])
    out = pi.overlay(
        np.full((1, 1, 3), 0.5), mirror, opacity=1.0, scale_opacity=False, percentile=100
    )
    neg, zero, pos = out[0].astype(int)
    assert pos[0] > pos[2] + 50 and neg[2] > neg[0] + 50  # red positive, blue negative
    assert zero.min() > 230  # white at 0


def test_non_negative_map_uses_a_sequential_scale_from_zero():
    heat = np.abs(np.random.default_rng(3).normal(size=(10, 10)))
    vmin, vmax = pi.heat_limits(heat, percentile=100)
    assert vmin == 0.0 and vmax == pytest.approx(heat.max())
    import matplotlib

    out = pi.overlay(np.zeros((1, 10, 10)), heat, opacity=1.0, scale_opacity=False, percentile=100)
    expected = matplotlib.colormaps[pi.POSITIVE_CMAP](heat / heat.max())[..., :3]
    np.testing.assert_array_equal(out, np.round(expected * 255).astype(np.uint8))
    # forcing signed=True on the same map gives the diverging scale instead
    assert pi.heat_limits(heat, signed=True, percentile=100) == (-vmax, vmax)


def test_percentile_limit_ignores_one_outlier():
    heat = np.ones((20, 20))
    heat[0, 0] = 1000.0
    assert pi.heat_limits(heat)[1] == pytest.approx(1.0)
    assert pi.heat_limits(heat, percentile=100)[1] == 1000.0
    # sparse maps (percentile = 0) fall back to the maximum; an empty map to 1
    sparse = np.zeros((20, 20))
    sparse[3, 4] = -0.5
    assert pi.heat_limits(sparse) == (-0.5, 0.5)
    assert pi.heat_limits(np.zeros((4, 4))) == (0.0, 1.0)


def test_channel_reductions():
    a = np.zeros((3, 2, 2))
    a[:, 0, 0] = [1.0, -4.0, 2.0]
    a[:, 1, 1] = [0.5, 0.5, 0.5]
    np.testing.assert_array_equal(pi.reduce_channels(a, "sum"), a.sum(axis=0))
    np.testing.assert_array_equal(pi.reduce_channels(a, "abs_max"), [[4.0, 0.0], [0.0, 0.5]])
    np.testing.assert_array_equal(pi.reduce_channels(a, "mean"), a.mean(axis=0))
    batch = np.stack([a, -a])
    np.testing.assert_array_equal(pi.reduce_channels(batch, "sum")[1], -a.sum(axis=0))
    assert pi.reduction_for("saliency") == "abs_max" and pi.reduction_for("ig") == "sum"
    with pytest.raises(InputError, match="reduce='max'"):
        pi.reduce_channels(a, "max")


def test_grey_and_normalised_images_for_display():
    grey = _image(1, 5, 7)
    rgb = pi.image_rgb(grey)
    assert rgb.shape == (5, 7, 3)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])
    normalised = (grey - 0.5) / 0.2  # outside [0, 1]: rescaled by its own range
    shown = pi.image_rgb(normalised)
    assert shown.min() == 0.0 and shown.max() == 1.0


def test_errors_name_the_argument():
    with pytest.raises(
        InputError, match="attributions cover 4 x 4 pixels but the image is 20 x 30"
    ):
        pi.overlay(_image(3), np.zeros((4, 4)))
    with pytest.raises(InputError, match=r"opacity=1\.5"):
        pi.overlay(_image(3), np.zeros((20, 30)), opacity=1.5)
    with pytest.raises(InputError, match="image has shape"):
        pi.overlay(np.zeros((2, 20, 30)), np.zeros((20, 30)))
    with pytest.raises(InputError, match="NaN"):
        pi.overlay(_image(3), np.full((20, 30), np.nan))
    with pytest.raises(InputError, match="not a matplotlib colormap"):
        pi.overlay(_image(3), np.ones((20, 30)), cmap="no-such-map")


# --------------------------------------------------------------------------- PNG files


def test_png_file_is_atomic_readable_and_deterministic(tmp_path):
    from PIL import Image

    out = pi.overlay(_image(3, 6, 9), np.random.default_rng(4).normal(size=(3, 6, 9)))
    path = pi.save_png(out, tmp_path / "sub" / "overlay.png", scale=4)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (36, 24) and im.mode == "RGB"
        pixels = np.asarray(im)
    np.testing.assert_array_equal(pixels[::4, ::4], out)
    np.testing.assert_array_equal(pixels[3::4, 3::4], out)
    assert path.read_bytes() == pi.png_bytes(out, scale=4)  # same array, same bytes
    assert sorted(p.name for p in path.parent.iterdir()) == ["overlay.png"]  # no temp left
    with pytest.raises(InputError, match="uint8"):
        pi.save_png(out.astype(float), tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_comparison_grid_cells_and_size(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(5)
    images = rng.uniform(size=(2, 1, 12, 18))  # grey, not square
    maps = {"saliency": rng.normal(size=(2, 1, 12, 18)), "ig": rng.normal(size=(2, 1, 12, 18))}
    fig = pi.comparison_grid(images, maps, row_labels=["a.png: 3", "b.png: 7"])
    axes = np.array(fig.axes).reshape(2, 3)
    assert [ax.get_title() for ax in axes[0]] == ["original", "saliency", "ig"]
    assert [axes[i, 0].get_ylabel() for i in range(2)] == ["a.png: 3", "b.png: 7"]
    for i in range(2):
        shown = np.asarray(axes[i, 0].images[0].get_array())
        np.testing.assert_array_equal(shown, pi.image_rgb(images[i]))
        for j, name in enumerate(maps, start=1):
            expected = pi.overlay(images[i], maps[name][i], reduce=pi.reduction_for(name))
            np.testing.assert_array_equal(np.asarray(axes[i, j].images[0].get_array()), expected)
    # saliency is drawn as a magnitude (0..v), ig as a signed map (±v)
    assert axes[0, 1].get_xlabel().startswith("0..") and axes[0, 2].get_xlabel().startswith("±")
    path = pi.save_grid(fig, tmp_path / "grid.png", dpi=50)
    width, height = fig.get_size_inches() * 50
    with Image.open(path) as im:
        # matplotlib truncates inches x dpi to whole pixels
        assert abs(im.size[0] - width) < 1 and abs(im.size[1] - height) < 1
        assert np.asarray(im.convert("L")).std() > 10  # not blank
    assert path.read_bytes() == pi.save_grid(fig, tmp_path / "again.png", dpi=50).read_bytes()
    with pytest.raises(InputError, match=r"maps\['ig'\] has shape"):
        pi.comparison_grid(images, {"ig": rng.normal(size=(2, 1, 12, 12))})


def test_importing_loads_no_matplotlib():
    code = "import sys, seqsal.plot.image; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr


# --------------------------------------------------------------------------- gallery


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "a":
            self.links.append(attrs.get("href"))


def test_gallery_is_self_contained_and_escapes_names(tmp_path):
    from PIL import Image

    evil = "<img src=x onerror=alert(1)>.png"
    png = pi.png_bytes(pi.overlay(_image(3, 4, 4), np.ones((4, 4))))
    images = [
        pi.GalleryImage(
            name, png, "7", 0.91, "class 7", {"saliency": png, "ig": png}, {"ig": "±0.1"}
        )
        for name in (evil, "two.png")
    ]
    section = pi.GallerySection(
        "Faithfulness", "lower is better", ["method", "AUC"], [["ig", 0.123456]], [("ig", png)]
    )
    path = pi.write_gallery(
        tmp_path / "gallery.html",
        images,
        methods={"saliency": {}, "ig": {"steps": 16}},
        grid=png,
        sections=[section],
        provenance={"model sha256": "abc"},
        files=[("maps.npz", "raw maps")],
    )
    html = path.read_text()
    parser = _Images()
    parser.feed(html)
    maps = [im for im in parser.images if im.get("class") == "map"]
    assert [(im["data-method"]) for im in maps] == ["saliency", "ig"] * 2
    assert all(im["src"].startswith("data:image/png;base64,") for im in parser.images)
    assert len(parser.images) == 2 * 3 + 2  # original + 2 maps per image, grid, figure
    import base64

    decoded = base64.b64decode(maps[0]["src"].split(",", 1)[1])
    with Image.open(io.BytesIO(decoded)) as im:
        assert im.size == (4, 4)
    assert evil not in html and "&lt;img src=x onerror=alert(1)&gt;.png" in html
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)
    assert parser.links == ["maps.npz"]
    assert "p = 0.910" in html and "0.1235" in html and "steps=16" in html
