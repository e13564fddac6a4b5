"""Run the command line in-process and read its JSON lines (shared by the CLI input tests)."""
from __future__ import annotations

import json

from treenets import cli


def run_cli(capsys, argv):
    """``(exit code, JSON records from standard output, standard error)`` of ``treenets ARGV``."""
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err
