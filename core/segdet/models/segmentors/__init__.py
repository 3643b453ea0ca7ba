"""Segmentors: assemblies of backbone, neck and decode heads."""
from .encoder_decoder import EncoderDecoder

__all__ = ["EncoderDecoder"]
