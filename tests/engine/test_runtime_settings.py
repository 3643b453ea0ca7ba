"""opencv_num_threads, mp_start_method, dist_params and log_level are applied, not ignored."""
from __future__ import annotations

import logging
import multiprocessing as mp

import cv2
import pytest

from segdet.engine.runtime import apply_runtime, dist_backend, log_level
from segdet.errors import ConfigError


@pytest.fixture
def restore():
    threads, method = cv2.getNumThreads(), mp.get_start_method(allow_none=True)
    yield
    cv2.setNumThreads(threads)
    mp.set_start_method(method, force=True)


def test_opencv_threads_and_start_method_are_set(restore, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    done = apply_runtime(dict(opencv_num_threads=3, mp_start_method="spawn", data=dict(workers_per_gpu=2)))
    assert cv2.getNumThreads() == 3
    assert mp.get_start_method() == "spawn"
    assert done["OMP_NUM_THREADS"] == "1"
    import os

    assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["MKL_NUM_THREADS"] == "1"


def test_user_thread_env_is_kept(restore, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    done = apply_runtime(dict(data=dict(workers_per_gpu=4)))
    assert "OMP_NUM_THREADS" not in done
    assert cv2.getNumThreads() in (0, 1)  # default 0: OpenCV's own threading off


def test_bad_values_are_clear_errors(restore):
    with pytest.raises(ConfigError, match="mp_start_method 'forks'"):
        apply_runtime(dict(mp_start_method="forks"))
    with pytest.raises(ConfigError, match="opencv_num_threads"):
        apply_runtime(dict(opencv_num_threads=-1))


def test_log_level_names_and_ints():
    assert log_level({}) == logging.INFO
    assert log_level(dict(log_level="warning")) == logging.WARNING
    assert log_level(dict(log_level=10)) == logging.DEBUG
    with pytest.raises(ConfigError, match="log_level must be one of"):
        log_level(dict(log_level="LOUD"))


def test_dist_params_backend():
    assert dist_backend({}) is None
    assert dist_backend(dict(dist_params=dict(backend="gloo"))) == "gloo"
    with pytest.raises(ConfigError, match="dist_params.backend"):
        dist_backend(dict(dist_params=dict(backend="tcp")))
    with pytest.raises(ConfigError, match="unknown key"):
        dist_backend(dict(dist_params=dict(backnd="nccl")))
