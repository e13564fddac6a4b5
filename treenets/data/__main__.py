"""``python -m treenets.data``: download SST, SICK and GloVe (see treenets.data.download and treenets.data.glove)."""
from .download import main

raise SystemExit(main())
