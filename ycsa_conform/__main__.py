"""`python -m ycsa_conform` is the `ycsa-conform` command."""

import sys

from ycsa_conform.cli import main

sys.exit(main())
