"""Sphinx configuration of seqsal's documentation site (``make docs``).

The site is the user guide (the Markdown pages of this folder, read by myst-parser) and an
API reference generated from the numpydoc docstrings: ``api.md`` lists the packages, and
autosummary walks each one recursively, so that a module moving inside a package needs no
change here.  ``make docs`` builds it with warnings as errors (a broken link between pages, a
docstring that does not parse or a module that does not import fails the build) into
``docs/_build/html``.  Nothing is downloaded (no intersphinx).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import seqsal  # noqa: E402

project = "seqsal"
author = "seqsal authors"
copyright = "seqsal authors"
version = release = seqsal.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "Thumbs.db", ".DS_Store"]

# Markdown: "[text](#heading)" links within and between pages resolve to heading anchors.
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

# API reference: numpydoc docstrings through napoleon; members in source order.
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True

# Types in docstrings are written in words ("list of (chrom, start, end)", "path"); Sphinx
# looks each word up as a Python name and warns when two classes have an attribute of that
# name.  Such a lookup is a guess, not a reference someone wrote, so its ambiguity is not an
# error; links between pages, docstrings that do not parse and modules that do not import
# still are.
suppress_warnings = ["ref.python"]

# A docstring of seqsal.plot.image writes an absolute value as |map|, which reStructuredText
# reads as a substitution: define it as itself.
rst_prolog = r"""
.. |map| replace:: \|map\|
"""

html_theme = "alabaster"
html_title = f"seqsal {release}"
html_static_path: list[str] = []
