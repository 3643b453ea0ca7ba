"""HRNet backbone for segdet (MMDetection / MMSegmentation keys and ``extra`` stage dicts)."""
from .hr_module import HRModule
from .hrnet import HRNet

__all__ = ["HRModule", "HRNet"]
