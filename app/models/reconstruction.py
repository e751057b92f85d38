"""RemediationRequest reconstruction (contract: ReconstructionResponse,
ValidationResult). The contract's generated models are the wire shapes."""
from __future__ import annotations

from .contract import ReconstructionResponse, ValidationResult

__all__ = ["ReconstructionResponse", "ValidationResult", "PROBLEM_TITLES"]

# Problem type slug (raised by datastorage.reconstruct_remediation_request in
# HINT) -> (HTTP status, title). Titles are the original's (spec §8.2).
PROBLEM_TITLES: dict[str, tuple[int, str]] = {
    "audit/correlation-not-found": (404, "Audit Events Not Found"),
    "reconstruction/no-parseable-events": (400, "Reconstruction Failed"),
    "reconstruction/missing-gateway-event": (400, "Reconstruction Failed"),
    "reconstruction/invalid-duration": (400, "Reconstruction Failed"),
    "reconstruction/incomplete-data": (400, "Incomplete Reconstruction"),
}
