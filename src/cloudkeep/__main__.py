import sys

from cloudkeep.cli import main

sys.exit(main())
