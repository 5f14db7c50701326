"""How the server's engine shares the cores between the threads that call torch."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from audar_plugins.server.engine import share_cores  # noqa: E402


@pytest.fixture
def torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_each_worker_gets_its_share_of_the_cores(torch_threads, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    share_cores(4)
    assert torch.get_num_threads() == 2
    share_cores(16)  # more workers than cores: one thread each, never none
    assert torch.get_num_threads() == 1


def test_an_explicit_thread_count_is_left_alone(torch_threads, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    torch.set_num_threads(3)
    share_cores(2)
    assert torch.get_num_threads() == 3
