"""Moved to the top-level `harness` package (shared with bench/); this name
stays for tests written against the old path."""
from harness import *  # noqa: F401,F403
