"""Exception types of segdet. Every user-facing error names where and how to fix.

The messages are assembled by the code that raises; these classes only give
callers something precise to catch. All derive from :class:`SegdetError`.
"""
from __future__ import annotations

__all__ = [
    "SegdetError",
    "ConfigError",
    "ConfigSyntaxError",
    "BaseFileNotFoundError",
    "BaseCycleError",
    "DuplicateBaseKeyError",
    "CfgOptionsError",
    "RegistryError",
    "UnknownComponentError",
    "ComponentClashError",
    "ComponentArgumentError",
    "PluginImportError",
    "IncompatiblePluginError",
    "DataFileNotFoundError",
    "DataError",
    "ShapeMismatchError",
    "CheckpointError",
    "UnsafeCheckpointError",
    "NonFiniteLossError",
]


class SegdetError(Exception):
    """Base class of every error segdet raises on purpose."""


class ConfigError(SegdetError):
    """A config file or option is invalid."""


class ConfigSyntaxError(ConfigError):
    """A config file cannot be parsed; the message names file and line."""


class BaseFileNotFoundError(ConfigError, FileNotFoundError):
    """A ``_base_`` entry points at a file that does not exist."""


class BaseCycleError(ConfigError):
    """``_base_`` files include each other in a cycle."""


class DuplicateBaseKeyError(ConfigError):
    """Two sibling ``_base_`` files define the same top-level key."""


class CfgOptionsError(ConfigError):
    """A ``--cfg-options`` item cannot be parsed or applied."""


class RegistryError(SegdetError):
    """Base class of component discovery and build errors."""


class UnknownComponentError(RegistryError):
    """A config names a ``type`` that no installed distribution provides."""


class ComponentClashError(RegistryError):
    """Two distributions export the same name in the same group."""


class ComponentArgumentError(RegistryError, TypeError):
    """Config keys do not fit the component's constructor signature."""


class PluginImportError(RegistryError, ImportError):
    """A component's module failed to import; the original error is chained."""


class IncompatiblePluginError(RegistryError):
    """A plugin was written for a plugin-API version this core does not offer."""


class DataFileNotFoundError(SegdetError, FileNotFoundError):
    """A data file named by a config does not exist."""


class DataError(SegdetError, ValueError):
    """A data file exists but cannot be used: it does not decode, or a data set is empty."""


class ShapeMismatchError(SegdetError, ValueError):
    """Channels or strides declared in a config disagree with the upstream module."""


class CheckpointError(SegdetError):
    """A checkpoint cannot be read or does not fit the model."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint holds Python objects that ``torch.load(weights_only=True)`` refuses to unpickle."""


class NonFiniteLossError(SegdetError, FloatingPointError):
    """A loss became NaN or infinite during training."""
