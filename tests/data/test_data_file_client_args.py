"""file_client_args as MMDetection / MMSegmentation configs write them: the disk backend works,
anything else stops at build time with a ConfigError naming the component and the fix."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from segdet.data.file_client import check_file_client_args
from segdet.errors import ConfigError
from segdet.registry import build


@pytest.mark.parametrize("name", ["LoadImageFromFile", "LoadAnnotations"])
def test_loaders_accept_the_disk_backend(name: str) -> None:
    build({"type": name, "file_client_args": {"backend": "disk"}}, "transforms")
    build({"type": name}, "transforms")


@pytest.mark.parametrize("name", ["LoadImageFromFile", "LoadAnnotations"])
def test_other_backends_are_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match=rf"{name}: file_client_args.backend='petrel' is not supported.*backend='disk'"):
        build({"type": name, "file_client_args": {"backend": "petrel", "path_mapping": {}}}, "transforms")


def test_disk_backend_options_and_shapes_of_args() -> None:
    check_file_client_args(None, "X")
    check_file_client_args({}, "X")  # backend defaults to disk, as MMCV's FileClient
    with pytest.raises(ConfigError, match="options \\['prefix'\\]"):
        check_file_client_args({"backend": "disk", "prefix": "s3"}, "X")
    with pytest.raises(ConfigError, match="must be a dict"):
        check_file_client_args("disk", "X")  # type: ignore[arg-type]


def test_image_loads_with_disk_backend(tmp_path) -> None:  # type: ignore[no-untyped-def]
    img = np.full((5, 7, 3), 9, np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), img)
    load = build({"type": "LoadImageFromFile", "file_client_args": {"backend": "disk"}}, "transforms")
    out = load({"img_prefix": str(tmp_path), "img_info": {"filename": "a.png"}})
    np.testing.assert_array_equal(out["img"], img)


def test_datasets_refuse_other_backends(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="CocoDataset: file_client_args.backend='ceph'"):
        build({"type": "CocoDataset", "ann_file": str(tmp_path / "x.json"), "pipeline": [],
               "file_client_args": {"backend": "ceph"}}, "datasets")


def test_segmentation_dataset_refuses_other_backends(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="CustomDataset: file_client_args.backend='http'"):
        build({"type": "CustomDataset", "img_dir": str(tmp_path), "pipeline": [],
               "file_client_args": {"backend": "http"}}, "datasets")
