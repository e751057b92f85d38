"""RemediationRequest reconstruction (contract: ReconstructionResponse,
ValidationResult). The contract's generated models are the wire shapes."""
from __future__ import annotations

from .contract import ReconstructionResponse, ValidationResult

__all__ = ["ReconstructionResponse", "ValidationResult"]
