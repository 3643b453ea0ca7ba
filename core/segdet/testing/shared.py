"""Files that tests read from the workplace's ``shared/`` folder beside the repository.

``shared/reference/openmmlab_state_dict_keys.json`` (OpenMMLab state-dict keys and shapes) and
``shared/data/raccoon`` (real photos) are not part of the repository.  A test asks for them
here; where they are missing (a plain clone elsewhere) the test is *skipped with a reason*, unless
the run asks for them — ``CI`` or ``SEGDET_REQUIRE_SHARED`` set — in which case it fails.
``SEGDET_SHARED`` points at another copy of the folder.

    from segdet.testing.shared import reference_keys
    keys = reference_keys()["retinanet/retinanet_r50_fpn_1x_coco.py"]
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

__all__ = ["find_shared", "reference_keys", "shared_path", "shared_required"]

_REFERENCE = ("reference", "openmmlab_state_dict_keys.json")


def shared_required() -> bool:
    """True when missing shared files must fail tests instead of skipping them."""
    return any(os.environ.get(v, "").lower() not in ("", "0", "false", "no")
               for v in ("CI", "SEGDET_REQUIRE_SHARED"))


def _candidates() -> list[Path]:
    found = []
    if os.environ.get("SEGDET_SHARED"):
        found.append(Path(os.environ["SEGDET_SHARED"]).expanduser())
    here = Path(__file__).resolve()
    # editable install: <repo>/core/segdet/testing/shared.py -> <repo>/../shared
    found.append(here.parents[3].parent / "shared")
    found.extend(p / "shared" for p in (Path.cwd(), *Path.cwd().parents))
    return found


def find_shared(*parts: str) -> Path | None:
    """``shared/<parts>`` where it exists, else None (no skipping: for module-level constants)."""
    for root in _candidates():
        path = root.joinpath(*parts)
        if path.exists():
            return path
    return None


def shared_path(*parts: str) -> Path:
    """``shared/<parts>``: the path if it exists; otherwise skip (or fail when required)."""
    import pytest

    found = find_shared(*parts)
    if found is not None:
        return found
    what = "/".join(("shared", *parts))
    reason = (f"{what} is not beside this checkout (set SEGDET_SHARED to its folder); "
              "it holds facts and data the test compares against")
    if shared_required():
        pytest.fail(reason + " — required because CI/SEGDET_REQUIRE_SHARED is set")
    pytest.skip(reason)
    raise AssertionError("unreachable")  # pragma: no cover


@lru_cache(maxsize=1)
def _load_reference(path: str) -> dict[str, dict[str, list[int]]]:
    with open(path) as f:
        data: dict[str, dict[str, list[int]]] = json.load(f)
    return data


def reference_keys() -> dict[str, dict[str, list[int]]]:
    """Config path -> {state-dict key: shape} of the OpenMMLab model built from that config."""
    return _load_reference(str(shared_path(*_REFERENCE)))
