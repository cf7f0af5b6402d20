"""The stack a record names: the interpreter's installed packages and the CPU kernel family."""
from __future__ import annotations

import sys

import torch

from cama import environment


def test_packages_name_the_installed_stack():
    found = environment.packages()
    assert found["torch"] == torch.__version__
    assert "cama" in found and "torch-geometric" in found
    assert list(found) == sorted(found)


def test_folders_a_library_adds_to_sys_path_do_not_count(tmp_path, monkeypatch):
    # a Ray worker puts ray/thirdparty_files (vendored colorama, psutil) on sys.path; the
    # record written in the worker must name the same packages as one written in the driver
    info = tmp_path / "vendored_only-9.9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vendored-only\nVersion: 9.9.9\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    environment.packages.cache_clear()
    try:
        assert "vendored-only" not in environment.packages()
    finally:
        environment.packages.cache_clear()
    assert str(tmp_path) in sys.path


def test_hardware_names_the_kernel_family():
    hw = environment.hardware()
    assert hw["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert hw["torch_threads"] == torch.get_num_threads()
