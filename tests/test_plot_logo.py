"""Sequence logos: letters where the matrices put them, strands and alignment as documented,
PNG/SVG that decode, and no change to the caller's matplotlib state."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from seqsal.errors import InputError
from seqsal.motifs.types import Motif
from seqsal.plot import logo


def _glyphs(ax):
    """(x centre, bottom, top, base) of every letter drawn on ``ax``."""
    colors = {to_rgb(c): b for b, c in logo.BASE_COLORS.items()}
    out = []
    for patch in ax.patches:
        base = colors.get(tuple(np.round(patch.get_facecolor()[:3], 6)))
        if base is None:
            base = next(
                (b for rgb, b in colors.items() if np.allclose(rgb, patch.get_facecolor()[:3])),
                None,
            )
        if base is None:
            continue
        ext = patch.get_path().get_extents()
        out.append(((ext.x0 + ext.x1) / 2, ext.y0, ext.y1, base))
    return out


def _tallest(ax):
    return max(_glyphs(ax), key=lambda g: g[2] - g[1])


def test_frame_transposes_only_here():
    m = np.arange(12, dtype=float).reshape(4, 3)
    frame = logo._frame(m, first=100)
    assert list(frame.columns) == list("ACGT")
    assert list(frame.index) == [100, 101, 102]
    np.testing.assert_array_equal(frame.to_numpy().T, m)


def test_information_scaled_heights():
    ppm = np.array([[1, 0.25, 0.5], [0, 0.25, 0.5], [0, 0.25, 0], [0, 0.25, 0]])
    heights = logo.information_scaled(ppm)
    np.testing.assert_allclose(heights.sum(axis=0), [2.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(heights[:, 0], [2, 0, 0, 0])


def test_cwm_logo_letters_match_the_matrix():
    cwm = np.zeros((4, 5))
    cwm[2, 1] = 3.0  # G up at column 1
    cwm[3, 3] = -2.0  # T down at column 3
    fig = logo.cwm_logo(cwm)
    glyphs = {
        (round(x), base): (lo, hi) for x, lo, hi, base in _glyphs(fig.axes[0]) if hi - lo > 0.5
    }
    assert set(glyphs) == {(1, "G"), (3, "T")}
    lo, hi = glyphs[(1, "G")]
    assert lo == pytest.approx(0, abs=0.05) and hi == pytest.approx(3, abs=0.1)
    lo, hi = glyphs[(3, "T")]
    assert lo == pytest.approx(-2, abs=0.1) and hi == pytest.approx(0, abs=0.05)


@pytest.mark.parametrize("orientation", ["+", "-"])
@pytest.mark.parametrize("offset", [-2, 0, 3])
def test_aligned_logos_follow_tomtom_offset_and_orientation(orientation, offset):
    rng = np.random.default_rng(1)
    query = Motif("q", rng.dirichlet(np.ones(4), size=10).T, cwm=rng.normal(size=(4, 10)))
    ppm = np.full((4, 6), 0.25)
    ppm[:, 0] = [1, 0, 0, 0]  # an A, fully informative, at column 0 of the stored motif
    target = Motif("db", ppm)
    trim_start = 2
    fig = logo.aligned_logos(
        query, target, orientation=orientation, offset=offset, trim_start=trim_start
    )
    bottom = fig.axes[1]
    x, lo, hi, base = _tallest(bottom)
    # stored column 0 is oriented column 0 (+) or, reverse complemented, column 5 as a T (-)
    oriented_column, letter = (0, "A") if orientation == "+" else (5, "T")
    assert base == letter
    assert hi - lo == pytest.approx(2.0, abs=0.1)
    # database column j sits under query column trim_start - offset + j
    assert x == pytest.approx(trim_start - offset + oriented_column, abs=0.05)
    # both rows share the x axis
    assert fig.axes[0].get_xlim() == bottom.get_xlim()


@pytest.mark.parametrize("strand", ["+", "-"])
def test_attribution_logo_genome_axis_and_strand(strand):
    length, start = 40, 5_000
    projected = np.zeros((4, length))
    projected[0, 7] = 1.5  # an A at window index 7, as the model read the window
    fig, view = logo.attribution_logo(
        projected, chrom="chr2", origin=start, strand=strand, marks=[(5_010, 5_016, "hit", 1, "m")]
    )
    assert (view.first, view.last) == (start, start + length)
    logo_ax = fig.axes[0]
    x, lo, hi, base = _tallest(logo_ax)
    if strand == "+":
        assert base == "A" and x == pytest.approx(start + 7, abs=0.05)
    else:  # window index i lies at genome end - 1 - i, read on the + strand as the complement
        assert base == "T" and x == pytest.approx(start + length - 1 - 7, abs=0.05)
    assert hi - lo == pytest.approx(1.5, abs=0.05)
    # only the non-zero base of each column is drawn
    assert len(_glyphs(logo_ax)) == 1
    marks = fig.axes[1].patches
    assert len(marks) == 1 and marks[0].get_x() == pytest.approx(5_010 - 0.5)


def test_long_region_zooms_on_the_salient_stretch():
    rng = np.random.default_rng(0)
    length = 1_000
    X = np.eye(4)[rng.integers(0, 4, length)].T
    projected = X * rng.normal(scale=0.01, size=length)
    projected[:, 700:712] = X[:, 700:712] * 2.0
    fig, view = logo.attribution_logo(projected, origin=0, max_columns=50)
    assert len(fig.axes) == 3  # track, zoomed logo, marks
    assert view.zoom_last - view.zoom_first == 50
    assert view.zoom_first <= 700 and 712 <= view.zoom_last
    assert fig.axes[0].get_xlim() == pytest.approx((-0.5, length - 0.5))
    fig, view = logo.attribution_logo(projected, origin=0, zoom=(100, 130))
    assert (view.zoom_first, view.zoom_last) == (100, 130)


def test_salient_window_is_the_argmax_of_window_sums():
    rng = np.random.default_rng(3)
    values = rng.normal(size=200)
    for width in (1, 7, 50, 200, 300):
        got = logo.salient_window(values, width)
        if width >= len(values):
            assert got == 0
            continue
        sums = [np.abs(values[i : i + width]).sum() for i in range(len(values) - width + 1)]
        assert got == int(np.argmax(sums))


def test_render_png_and_svg_decode_and_save_atomically(tmp_path):
    from PIL import Image

    fig = logo.ppm_logo(np.random.default_rng(0).dirichlet(np.ones(4), size=8).T)
    png = logo.render(fig, "png")
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size[0] > 50
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 5  # letters were drawn
    assert png == logo.render(fig, "png")  # no timestamps: same figure, same bytes
    svg = logo.render(fig, "svg")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    path = logo.save_figure(fig, tmp_path / "out" / "ppm.svg")
    assert path.read_bytes().startswith(b"<?xml")
    assert [p.name for p in path.parent.iterdir()] == ["ppm.svg"]
    with pytest.raises(InputError, match="format"):
        logo.render(fig, "jpg")


def test_matplotlib_state_is_left_alone():
    import matplotlib

    before = dict(matplotlib.rcParams)
    backend = matplotlib.rcParams._get("backend")
    motif = Motif("m", np.full((4, 6), 0.25), cwm=np.ones((4, 6)))
    logo.render(logo.motif_logo(motif, "cwm"))
    logo.render(logo.motif_logo(motif, "ppm"))
    assert matplotlib.rcParams._get("backend") == backend
    assert dict(matplotlib.rcParams) == before
    import matplotlib.pyplot as plt  # logomaker imports pyplot; no figure may be left there

    assert plt.get_fignums() == []


def test_bad_matrices_are_input_errors():
    with pytest.raises(InputError, match=r"cwm has shape \(3, 5\)"):
        logo.cwm_logo(np.zeros((3, 5)))
    with pytest.raises(InputError, match="NaN"):
        logo.ppm_logo(np.full((4, 2), np.nan))
    with pytest.raises(InputError, match="orientation"):
        logo.aligned_logos(
            Motif("a", np.full((4, 3), 0.25)), Motif("b", np.full((4, 3), 0.25)), orientation="x"
        )
    with pytest.raises(InputError, match="zoom"):
        logo.attribution_logo(np.zeros((4, 10)), origin=0, zoom=(50, 60))
