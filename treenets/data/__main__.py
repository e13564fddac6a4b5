"""``python -m treenets.data``: download SST, SICK and GloVe (see treenets.data.command)."""
from .command import main

raise SystemExit(main())
