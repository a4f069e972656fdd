import sys

from lvsocf.engine.daemon import main

sys.exit(main())
