"""Sphinx configuration of the treenets docs: MyST Markdown pages, the furo theme, autodoc + napoleon.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (``pip install -e ".[docs]"``).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # autodoc imports the checkout's treenets

from treenets.utils.version import __version__  # noqa: E402

project = "treenets"
author = "the treenets authors"
copyright = "2026, the treenets authors"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}  # .rst: the stubs autosummary writes to docs/generated/
exclude_patterns = ["_build"]
root_doc = "index"

# MyST: anchors for "page.md#a-heading" links, down to ### headings
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# The code's docstrings are Google style (Args:, Returns:, Shapes:, Raises:)
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = [("Shapes", "params_style")]
# "Attributes:" sections as :ivar: fields of their class, so that an attribute
# also documented by a "#:" comment or a property is not described twice
napoleon_use_ivar = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autosummary_generate = True
# Optional extras the API pages must not need to build: autodoc imports the
# modules, and these are imported only inside functions or guarded.
autodoc_mock_imports = []

html_theme = "furo"
html_title = f"treenets {release}"
