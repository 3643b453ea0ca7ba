"""MLflow logger hook for segdet."""
from __future__ import annotations

from .mlflow_hook import MlflowLoggerHook

__all__ = ["MlflowLoggerHook"]
