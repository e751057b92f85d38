"""One blueprint per API area."""
from importlib import import_module

AREAS = ("health", "metrics", "openapi", "audit", "notifications", "legal_hold", "export",
         "verify", "reconstruction", "workflows", "tlog")


def blueprints():
    return [import_module(f"{__name__}.{name}").bp for name in AREAS]
