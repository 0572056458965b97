import sys

from seqsal.cli import main

sys.exit(main())
