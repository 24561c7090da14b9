import sys

from zerotrip.cli import main

sys.exit(main())
