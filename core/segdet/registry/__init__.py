"""Entry-point discovery and building of components.

Public API for plugins and the CLI::

    from segdet.registry import build, register, components, refresh
"""
from __future__ import annotations

from .build import (
    build,
    check_arguments,
    describe_location,
    find_info,
    resolve,
    signature_text,
    takes_argument,
)
from .check import check_config
from .discovery import api_compatible, components, discover, refresh
from .groups import GROUPS, PLUGIN_API_VERSION, full_group, short_group
from .local import import_custom_modules, register, unregister
from .records import ComponentInfo

__all__ = [
    "GROUPS",
    "PLUGIN_API_VERSION",
    "ComponentInfo",
    "api_compatible",
    "build",
    "check_arguments",
    "check_config",
    "components",
    "describe_location",
    "discover",
    "find_info",
    "full_group",
    "import_custom_modules",
    "refresh",
    "register",
    "resolve",
    "short_group",
    "signature_text",
    "takes_argument",
    "unregister",
]
