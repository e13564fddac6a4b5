"""``python -m treenets.data``: download SST and SICK (see treenets.data.download)."""
from .download import main

raise SystemExit(main())
