"""Image files <-> float32 arrays ``(n, C, H, W)``, through Pillow.

Reading (:func:`read_images`), in this order, for every file:

1. **Decode** with Pillow (PNG, JPEG, TIFF and anything else Pillow opens; multi-frame files
   give their first frame).
2. **Channels** (``mode``): ``"L"`` (grey, C = 1) or ``"RGB"`` (colour, C = 3), converted by
   Pillow (``Image.convert``: ITU-R 601-2 luma for colour to grey, grey repeated for grey to
   colour, alpha dropped, palettes expanded).  None keeps grey files grey (``1``, ``L``,
   ``LA``, ``I;16``, ``I``, ``F``) and makes everything else RGB.
3. **Scale** to [0, 1]: 8-bit values / 255, 16-bit integer values (``I;16``, ``I``) / 65535;
   32-bit float images (``F``) are taken as they are.
4. **Resize** (``size``) to ``(H, W)`` with Pillow's ``Image.resize`` and the named
   ``resample`` filter (default ``"bilinear"``; Pillow's filters are antialiased when they
   shrink).  The aspect ratio is not kept: crop first if it matters.  Without resizing, all
   images must have the same size.
5. **Normalise** each channel: ``(x - mean) / std`` (x in [0, 1]), with ``mean``/``std`` given
   or taken from a model's metadata (``metadata["normalisation"]``, see
   :mod:`seqsal.models.images`); no normalisation by default.

Any file that is missing, unreadable or not an image raises :class:`~seqsal.errors.InputError`
naming the file.  Writing (:func:`write_image`) is atomic, through :mod:`seqsal.io.atomic`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from seqsal.errors import InputError, first_line
from seqsal.io.atomic import atomic_path

log = logging.getLogger(__name__)

#: File suffixes taken when a folder is given (case-insensitive).
SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")

#: Resampling filters by name (Pillow's ``Image.Resampling``).
RESAMPLE = ("nearest", "box", "bilinear", "hamming", "bicubic", "lanczos")

MODES = ("L", "RGB")
_GREY_MODES = ("1", "L", "LA", "I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


#: One path, or several (files or folders).
Paths: TypeAlias = "str | os.PathLike | Sequence[str | os.PathLike]"

#: One value for every channel, or one per channel.
ChannelValues: TypeAlias = "float | Sequence[float] | np.ndarray | None"


def image_paths(paths: Paths) -> list[Path]:
    """The image files named by ``paths``: files as given, folders expanded.

    Parameters
    ----------
    paths : str, os.PathLike or sequence of them
        Files, or folders whose files with a suffix in :data:`SUFFIXES` are taken, sorted by
        name (not recursive).

    Returns
    -------
    list of Path
        In the order given (folder contents in name order): the order of :func:`read_images`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not isinstance(paths, Sequence) or isinstance(paths, bytes):
        raise InputError(
            f"paths has type {type(paths).__name__}; expected a path or a list of paths"
        )
    out: list[Path] = []
    for item in paths:
        if not isinstance(item, (str, os.PathLike)):
            raise InputError(f"paths holds {item!r}; expected file or folder paths")
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
            )
            if not found:
                raise InputError(f"folder holds no image files ({', '.join(SUFFIXES)})", path=path)
            out.extend(found)
        else:
            out.append(path)
    if not out:
        raise InputError("paths is empty; expected at least one image file")
    return out


def _channel_values(value: ChannelValues, channels: int, name: str) -> np.ndarray | None:
    if value is None:
        return None
    array = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if array.ndim != 1 or len(array) not in (1, channels) or not np.all(np.isfinite(array)):
        raise InputError(
            f"{name}={value!r}; expected one number or {channels} numbers (one per channel)"
        )
    return np.broadcast_to(array, (channels,)).astype(np.float32)


def _size(size: Any, name: str = "size") -> tuple[int, int]:
    if isinstance(size, bool):
        raise InputError(f"{name}={size!r}; expected an int or (height, width)")
    if isinstance(size, (int, np.integer)):
        size = (size, size)
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name}={size!r}; expected an int or (height, width)") from err
    if height < 1 or width < 1 or any(isinstance(v, bool) or v != int(v) for v in size):
        raise InputError(f"{name}={size!r}; height and width must be positive integers")
    return height, width


def _decode(
    path: Path, mode: str | None, size: tuple[int, int] | None, resample_filter: Any
) -> np.ndarray:
    """One file -> float32 (C, H, W) in [0, 1] (for integer images)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            img: Image.Image = opened
            img.load()
            source = img.mode
            target = mode or ("L" if source in _GREY_MODES else "RGB")
            repeat = 1
            if source in _WIDE_MODES or source == "F":
                # high-bit-depth grey: keep the precision as 32-bit float, colour by repetition
                img = img.convert("I").convert("F") if source in _WIDE_MODES else img
                scale = 65535.0 if source in _WIDE_MODES else 1.0
                repeat = 3 if target == "RGB" else 1
            else:
                img = img.convert(target)
                scale = 255.0
            if size is not None and img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), resample=resample_filter)
            array = np.asarray(img, dtype=np.float32)
    except FileNotFoundError as err:
        raise InputError("image file not found", path=path) from err
    except IsADirectoryError as err:
        raise InputError("is a folder, expected an image file", path=path) from err
    except UnidentifiedImageError as err:
        raise InputError(
            "not an image Pillow can read (expected PNG, JPEG or TIFF)", path=path
        ) from err
    except (OSError, ValueError, SyntaxError) as err:
        raise InputError(f"cannot read image: {first_line(err)}", path=path) from err
    array = array / scale if scale != 1.0 else array
    if array.ndim == 2:
        array = np.repeat(array[None], repeat, axis=0)
    else:
        array = np.moveaxis(array, -1, 0)
    return np.ascontiguousarray(array, dtype=np.float32)


def read_images(
    paths: Paths,
    *,
    size: int | tuple[int, int] | str | None = None,
    mode: str | None = None,
    mean: ChannelValues = None,
    std: ChannelValues = None,
    metadata: Mapping | None = None,
    resample: str = "bilinear",
) -> np.ndarray:
    """Read image files into one float32 array ``(n, C, H, W)``, ready for a model.

    Parameters
    ----------
    paths : str, os.PathLike or sequence of them
        Image files, or folders of them (see :func:`image_paths` for the order).
    size : int, (height, width), "native" or None, default None
        Resize every image to this size (an int: square).  None: the size in
        ``metadata["input_shape"]`` if given, else each file's own size (which must then be
        the same for all).  ``"native"``: never resize.
    mode : {"L", "RGB"} or None, default None
        Grey (C = 1) or colour (C = 3).  None: from ``metadata["input_shape"]`` (C = 1 or 3)
        if given, else each file's own kind (all files must then agree).
    mean, std : float or sequence of float, optional
        Per-channel normalisation ``(x - mean) / std`` of values in [0, 1].  Default: from
        ``metadata["normalisation"]`` if given, else none (mean 0, std 1).
    metadata : mapping, optional
        A model's metadata (``LoadedModel.metadata`` of an image model: ``input_shape``
        ``[C, H, W]`` and ``normalisation`` ``{"mean": [...], "std": [...]}``); explicit
        arguments win over it.
    resample : {"nearest", "box", "bilinear", "hamming", "bicubic", "lanczos"}, default "bilinear"
        Pillow filter used when resizing.

    Returns
    -------
    numpy.ndarray, float32, shape (n, C, H, W)

    Raises
    ------
    InputError
        A missing, unreadable or non-image file (named); images of different sizes or kinds
        without ``size``/``mode`` (the first file that differs is named); bad arguments.
    """
    from PIL import Image

    files = image_paths(paths)
    metadata = dict(metadata or {})
    shape = metadata.get("input_shape")
    if shape is not None:
        if not isinstance(shape, Sequence) or len(shape) != 3:
            raise InputError(
                f"metadata['input_shape']={shape!r}; expected [C, H, W] of an image model"
            )
        if mode is None:
            mode = {1: "L", 3: "RGB"}.get(int(shape[0]))
            if mode is None:
                raise InputError(
                    f"metadata['input_shape']={list(shape)!r}: {shape[0]} channels; images are read "
                    "as grey (1) or RGB (3)"
                )
        if size is None:
            size = (int(shape[1]), int(shape[2]))
    if mode is not None and mode not in MODES:
        raise InputError(f"mode={mode!r}; expected 'L' (grey), 'RGB' (colour) or None")
    if size == "native":
        size = None
    elif size is not None:
        size = _size(size)
    if resample not in RESAMPLE:
        raise InputError(f"resample={resample!r}; expected one of {', '.join(RESAMPLE)}")
    resample_filter = getattr(Image.Resampling, resample.upper())
    normalisation = metadata.get("normalisation") or {}
    arrays: list[np.ndarray] = []
    for path in files:
        array = _decode(path, mode, size, resample_filter)
        if arrays and array.shape != arrays[0].shape:
            first = arrays[0].shape
            what = "channels" if array.shape[0] != first[0] else "size (channels, height, width)"
            raise InputError(
                f"has {what} {array.shape}, but {files[0]} has {first}; give size=(H, W) to "
                "resize or mode='L'/'RGB' to convert them all",
                path=path,
            )
        arrays.append(array)
    X = np.stack(arrays)
    channels = X.shape[1]
    mean = _channel_values(
        mean if mean is not None else normalisation.get("mean"), channels, "mean"
    )
    std = _channel_values(std if std is not None else normalisation.get("std"), channels, "std")
    if std is not None and np.any(std <= 0):
        raise InputError(f"std={std.tolist()}; must be positive")
    return normalise(X, mean, std)


def normalise(X: Any, mean: ChannelValues = None, std: ChannelValues = None) -> np.ndarray:
    """``(X - mean) / std`` per channel of ``(n, C, H, W)`` (or ``(C, H, W)``) values.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, C, H, W) or (C, H, W)
    mean, std : float or sequence of float, optional
        One value or one per channel; None means 0 (mean) and 1 (std).

    Returns
    -------
    numpy.ndarray, float32, X's shape.
    """
    X = np.asarray(X, dtype=np.float32)
    channels = X.shape[-3] if X.ndim >= 3 else 1
    mean = _channel_values(mean, channels, "mean")
    std = _channel_values(std, channels, "std")
    if mean is not None:
        X = X - mean.reshape(-1, 1, 1)
    if std is not None:
        X = X / std.reshape(-1, 1, 1)
    return np.ascontiguousarray(X, dtype=np.float32)


def denormalise(X: Any, mean: ChannelValues = None, std: ChannelValues = None) -> np.ndarray:
    """Undo :func:`normalise`: ``X * std + mean`` per channel, back to [0, 1] pixel values.

    For drawing model inputs (e.g. overlays) when the model takes normalised images.
    Same parameters as :func:`normalise`.
    """
    X = np.asarray(X, dtype=np.float32)
    channels = X.shape[-3] if X.ndim >= 3 else 1
    mean = _channel_values(mean, channels, "mean")
    std = _channel_values(std, channels, "std")
    if std is not None:
        X = X * std.reshape(-1, 1, 1)
    if mean is not None:
        X = X + mean.reshape(-1, 1, 1)
    return np.ascontiguousarray(X, dtype=np.float32)


def write_image(
    path: str | os.PathLike,
    image: Any,
    *,
    mean: ChannelValues = None,
    std: ChannelValues = None,
) -> Path:
    """Write one image ``(C, H, W)`` or ``(H, W)`` with values in [0, 1] as an 8-bit file.

    The format follows the suffix (``.png``, ``.jpg``, ``.tif``, ...); C = 1 gives a grey
    file, C = 3 an RGB one.  Values are de-normalised (``x * std + mean``) when ``mean``/``std``
    are given, clipped to [0, 1] and rounded to ``round(255 * x)``, so a PNG read back with
    :func:`read_images` gives exactly ``round(255 * x) / 255``.  Written atomically.

    Parameters
    ----------
    path : str or os.PathLike
    image : numpy.ndarray or torch.Tensor, shape (C, H, W) or (H, W), C in {1, 3}
    mean, std : float or sequence of float, optional

    Returns
    -------
    Path
    """
    from PIL import Image

    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise InputError(f"image has shape {image.shape}; expected (C, H, W) with C = 1 or 3")
    image = denormalise(image, mean, std)
    if not np.all(np.isfinite(image)):
        raise InputError("image holds NaN or infinite values", path=path)
    pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    picture = (
        Image.fromarray(pixels[0])
        if pixels.shape[0] == 1
        else Image.fromarray(np.ascontiguousarray(np.moveaxis(pixels, 0, -1)))
    )
    final = Path(path)
    try:
        file_format = Image.registered_extensions()[final.suffix.lower()]
    except KeyError as err:
        raise InputError(
            f"unknown image suffix {final.suffix!r}; use .png, .jpg or .tif", path=final
        ) from err
    with atomic_path(final) as tmp:
        picture.save(tmp, format=file_format)
    return final
