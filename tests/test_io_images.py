"""io.images: real PNG/JPEG/TIFF files written with Pillow, read back as (n, C, H, W)."""

import numpy as np
import pytest
from PIL import Image

from seqsal.errors import InputError
from seqsal.io.images import (
    denormalise,
    image_paths,
    normalise,
    read_images,
    write_image,
)

RNG = np.random.default_rng(7)


def _pixels(height, width, channels):
    shape = (height, width) if channels == 1 else (height, width, channels)
    return RNG.integers(0, 256, size=shape, dtype=np.uint8)


def _chw(pixels):
    """Pillow's (H, W) or (H, W, C) uint8 -> (C, H, W) float in [0, 1]."""
    array = pixels.astype(np.float32) / 255
    return array[None] if array.ndim == 2 else np.moveaxis(array, -1, 0)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize(("channels", "height", "width"), [(1, 6, 9), (3, 11, 4), (3, 8, 8)])
def test_lossless_files_round_trip_exactly(tmp_path, suffix, channels, height, width):
    images = [_pixels(height, width, channels) for _ in range(3)]
    paths = []
    for i, pixels in enumerate(images):
        path = tmp_path / f"img{i}{suffix}"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    X = read_images(paths)
    assert X.dtype == np.float32 and X.shape == (3, channels, height, width)
    for got, pixels in zip(X, images, strict=True):
        np.testing.assert_array_equal(got, _chw(pixels))


def test_non_square_orientation_is_height_then_width(tmp_path):
    pixels = np.zeros((5, 9), dtype=np.uint8)
    pixels[1, 7] = 255  # row 1, column 7
    Image.fromarray(pixels).save(tmp_path / "a.png")
    X = read_images(tmp_path / "a.png")
    assert X.shape == (1, 1, 5, 9)
    assert np.argwhere(X[0, 0] == 1.0).tolist() == [[1, 7]]


def test_jpeg_matches_pillows_decoding_and_stays_close_to_the_original(tmp_path):
    yy, xx = np.mgrid[0:24, 0:32]
    smooth = np.stack([xx * 7, yy * 9, (xx + yy) * 4], axis=-1).clip(0, 255).astype(np.uint8)
    path = tmp_path / "photo.jpg"
    Image.fromarray(smooth).save(path, quality=95)
    X = read_images(path)
    with Image.open(path) as img:
        decoded = np.asarray(img.convert("RGB"))
    np.testing.assert_array_equal(X[0], _chw(decoded))
    assert np.abs(X[0] - _chw(smooth)).mean() < 0.02


def test_sixteen_bit_and_float_tiff_keep_their_precision(tmp_path):
    wide = RNG.integers(0, 65536, size=(4, 6)).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "wide.tif")
    floats = RNG.random((4, 6)).astype(np.float32)
    Image.fromarray(floats).save(tmp_path / "float.tif")
    np.testing.assert_allclose(read_images(tmp_path / "wide.tif")[0, 0], wide / 65535, atol=1e-7)
    colour = read_images(tmp_path / "wide.tif", mode="RGB")[0]
    assert colour.shape == (3, 4, 6)
    np.testing.assert_allclose(colour, np.broadcast_to(wide / 65535, (3, 4, 6)), atol=1e-7)
    np.testing.assert_array_equal(read_images(tmp_path / "float.tif")[0, 0], floats)


def test_mode_conversion_uses_pillows_rules(tmp_path):
    rgb = _pixels(5, 7, 3)
    grey = _pixels(5, 7, 1)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(grey).save(tmp_path / "grey.png")
    rgba = np.concatenate([rgb, np.full((5, 7, 1), 10, np.uint8)], axis=-1)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    as_grey = read_images(tmp_path / "rgb.png", mode="L")
    np.testing.assert_array_equal(as_grey[0], _chw(np.asarray(Image.fromarray(rgb).convert("L"))))
    as_colour = read_images(tmp_path / "grey.png", mode="RGB")[0]
    np.testing.assert_array_equal(as_colour, np.repeat(_chw(grey), 3, axis=0))
    # alpha is dropped, the colour kept
    np.testing.assert_array_equal(read_images(tmp_path / "rgba.png")[0], _chw(rgb))


@pytest.mark.parametrize("resample", ["nearest", "bilinear", "lanczos"])
def test_resize_is_pillows_named_filter(tmp_path, resample):
    pixels = _pixels(10, 14, 3)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    X = read_images(tmp_path / "a.png", size=(7, 5), resample=resample)
    filt = getattr(Image.Resampling, resample.upper())
    expected = np.asarray(Image.fromarray(pixels).resize((5, 7), resample=filt))
    assert X.shape == (1, 3, 7, 5)
    np.testing.assert_array_equal(X[0], _chw(expected))


def test_resize_brings_different_sizes_together_and_keeps_a_flat_image_flat(tmp_path):
    Image.fromarray(np.full((9, 5), 77, np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(_pixels(3, 12, 1)).save(tmp_path / "b.png")
    X = read_images([tmp_path / "a.png", tmp_path / "b.png"], size=6)
    assert X.shape == (2, 1, 6, 6)
    np.testing.assert_allclose(X[0], 77 / 255, atol=1e-7)


def test_normalisation_from_arguments_and_from_metadata(tmp_path):
    pixels = _pixels(4, 5, 3)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    raw = _chw(pixels)
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.5]
    expected = (raw - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(
        read_images(tmp_path / "a.png", mean=mean, std=std)[0], expected, atol=1e-6
    )
    metadata = {"input_shape": [1, 8, 10], "normalisation": {"mean": [0.5], "std": [0.25]}}
    X = read_images(tmp_path / "a.png", metadata=metadata)
    grey = np.asarray(
        Image.fromarray(pixels).convert("L").resize((10, 8), Image.Resampling.BILINEAR)
    )
    assert X.shape == (1, 1, 8, 10)
    np.testing.assert_allclose(X[0, 0], (grey / 255 - 0.5) / 0.25, atol=1e-6)
    # explicit arguments win over the metadata
    Y = read_images(tmp_path / "a.png", metadata=metadata, size="native", mode="RGB", mean=0, std=1)
    np.testing.assert_array_equal(Y[0], raw)
    np.testing.assert_allclose(denormalise(normalise(raw, mean, std), mean, std), raw, atol=1e-6)


def test_folders_are_expanded_in_name_order(tmp_path):
    for name, value in [("b.png", 20), ("a.tif", 10), ("c.jpeg", 30)]:
        Image.fromarray(np.full((3, 3), value, np.uint8)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    assert [p.name for p in image_paths(tmp_path)] == ["a.tif", "b.png", "c.jpeg"]
    X = read_images(tmp_path)
    np.testing.assert_allclose(X[:, 0, 0, 0], np.array([10, 20, 30]) / 255, atol=0.01)


def test_write_image_round_trips_and_denormalises(tmp_path):
    image = RNG.random((3, 6, 4)).astype(np.float32)
    write_image(tmp_path / "out.png", image)
    np.testing.assert_array_equal(read_images(tmp_path / "out.png")[0], np.round(image * 255) / 255)
    mean, std = [0.5], [0.25]
    grey = RNG.random((6, 4)).astype(np.float32)
    write_image(tmp_path / "grey.png", normalise(grey[None], mean, std), mean=mean, std=std)
    back = read_images(tmp_path / "grey.png", mean=mean, std=std)[0, 0]
    np.testing.assert_allclose(back, (np.round(grey * 255) / 255 - 0.5) / 0.25, atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grey.png", "out.png"]


def test_unreadable_files_are_named(tmp_path):
    Image.fromarray(_pixels(8, 8, 3)).save(tmp_path / "good.png")
    data = (tmp_path / "good.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.png").write_text("hello")
    for name in ["missing.png", "truncated.png", "text.png"]:
        with pytest.raises(InputError, match=name):
            read_images([tmp_path / "good.png", tmp_path / name])


def test_different_sizes_or_kinds_name_the_first_file_that_differs(tmp_path):
    Image.fromarray(_pixels(4, 4, 1)).save(tmp_path / "a.png")
    Image.fromarray(_pixels(4, 5, 1)).save(tmp_path / "b.png")
    Image.fromarray(_pixels(4, 4, 3)).save(tmp_path / "c.png")
    with pytest.raises(InputError, match=r"b\.png.*size=\(H, W\)"):
        read_images([tmp_path / "a.png", tmp_path / "b.png"])
    with pytest.raises(InputError, match=r"c\.png: has channels"):
        read_images([tmp_path / "a.png", tmp_path / "c.png"])
    assert read_images([tmp_path / "a.png", tmp_path / "c.png"], mode="RGB").shape == (2, 3, 4, 4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "CMYK"}, "mode='CMYK'"),
        ({"resample": "cubic"}, "resample='cubic'"),
        ({"size": (0, 3)}, "size="),
        ({"std": [1.0, 0.0, 1.0]}, "std="),
        ({"mean": [0.1, 0.2]}, "mean="),
        ({"metadata": {"input_shape": [4, 8, 8]}}, "4 channels"),
    ],
)
def test_bad_arguments_say_what_was_expected(tmp_path, kwargs, match):
    Image.fromarray(_pixels(4, 4, 3)).save(tmp_path / "a.png")
    with pytest.raises(InputError, match=match):
        read_images(tmp_path / "a.png", **kwargs)
