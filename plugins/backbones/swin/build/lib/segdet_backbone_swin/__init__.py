"""segdet-backbone-swin: the Swin Transformer backbone and checkpoint converters for segdet."""
from .converters import convert_official_swin, convert_torchvision_swin
from .swin_transformer import SwinTransformer

__all__ = ["SwinTransformer", "convert_official_swin", "convert_torchvision_swin"]
