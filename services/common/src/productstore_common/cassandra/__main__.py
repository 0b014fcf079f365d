"""``python -m productstore_common.cassandra migrate|status``."""

import sys

from productstore_common.cassandra.cli import configure_logging, main

configure_logging()
sys.exit(main())
