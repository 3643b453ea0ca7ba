"""segdet-head-ocr: the ``OCRHead`` cascade decode head of OCRNet."""
from .ocr_head import OCRHead

__all__ = ["OCRHead"]
