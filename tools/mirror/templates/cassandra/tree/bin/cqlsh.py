"""Runs cqlshlib (pylib/) with the libraries bundled in lib/*.zip."""

import glob
import os
import sys

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for bundled in sorted(glob.glob(os.path.join(HOME, "lib", "*.zip"))):
    sys.path.insert(0, bundled)
sys.path.insert(0, os.path.join(HOME, "pylib"))

from cqlshlib.cqlshmain import main  # noqa: E402

if __name__ == "__main__":
    main(sys.argv[1:], HOME)
