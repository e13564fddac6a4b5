"""Layer 5, the ``treenets`` command (:mod:`treenets.cli.main`) and the demo."""
from .main import (build_parser, cmd_cache, cmd_encode, cmd_parse, cmd_predict, cmd_similarity, legend, main,
                   render_html, render_json, render_svg, render_text)

__all__ = ["main", "build_parser", "render_text", "render_json", "render_svg", "render_html", "legend",
           "cmd_predict", "cmd_similarity", "cmd_parse", "cmd_encode", "cmd_cache"]
