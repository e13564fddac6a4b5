"""Layer 5, the ``treenets`` command (:mod:`treenets.cli.main`, its subcommands one table,
:data:`~treenets.cli.main.COMMANDS`), the listing of the shipped models (:mod:`treenets.cli.catalog`) and the demo."""
from .main import (COMMANDS, Command, build_parser, cmd_cache, cmd_encode, cmd_models, cmd_parse, cmd_predict,
                   cmd_similarity, legend, main, render_html, render_json, render_svg, render_text)

__all__ = ["main", "build_parser", "COMMANDS", "Command", "render_text", "render_json", "render_svg", "render_html",
           "legend", "cmd_predict", "cmd_similarity", "cmd_parse", "cmd_encode", "cmd_models", "cmd_cache"]
