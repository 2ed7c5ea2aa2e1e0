"""A Spark standalone cluster on loopback for tests: a master and workers started with Spark's own classes.

`spark-class org.apache.spark.deploy.master.Master` and `...worker.Worker` from the pyspark package, each in a
process group of its own (so a test can kill a worker with everything it started: executor and Python workers).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.ports import free_port

START_TIMEOUT_S = 90.0


@dataclass
class Cluster:
    url: str
    folder: Path
    master: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def kill_worker(self, index: int) -> None:
        """SIGKILL a worker's process group: the worker, its executor and that executor's Python workers."""
        os.killpg(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait()

    def stop(self) -> None:
        for process in [*self.workers, self.master]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def spark_env() -> dict[str, str]:
    return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _start(folder: Path, name: str, args: list[str]) -> subprocess.Popen[bytes]:
    log = (folder / f"{name}.log").open("wb")
    return subprocess.Popen(
        [str(_spark_class()), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=spark_env(),
        start_new_session=True,
    )


def _wait_for(log: Path, pattern: str, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        if len(re.findall(pattern, text)) >= count:
            return
        if process.poll() is not None:
            raise RuntimeError(f"{log.name}: the process ended:\n{text[-2000:]}")
        time.sleep(0.3)
    raise RuntimeError(f"{log.name}: no '{pattern}' within {START_TIMEOUT_S:.0f} s")


def start_cluster(folder: Path, *, workers: int = 2, worker_memory: str = "1g") -> Cluster:
    """A master on 127.0.0.1 and ``workers`` workers of one core each; returns once every worker has registered."""
    port = free_port()
    properties = folder / "spark.properties"
    properties.write_text("spark.master.rest.enabled false\nspark.ui.enabled false\n", encoding="utf-8")
    master = _start(
        folder,
        "master",
        [
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            "0",
            "--properties-file",
            str(properties),
        ],
    )
    cluster = Cluster(f"spark://127.0.0.1:{port}", folder, master)
    try:
        _wait_for(folder / "master.log", r"elected leader", 1, master)
        for i in range(workers):
            work = folder / f"work-{i}"
            work.mkdir()
            cluster.workers.append(
                _start(
                    folder,
                    f"worker-{i}",
                    [
                        "org.apache.spark.deploy.worker.Worker",
                        cluster.url,
                        "--host",
                        "127.0.0.1",
                        "--cores",
                        "1",
                        "--memory",
                        worker_memory,
                        "--webui-port",
                        "0",
                        "--work-dir",
                        str(work),
                        "--properties-file",
                        str(properties),
                    ],
                )
            )
        _wait_for(folder / "master.log", r"Registering worker 127\.0\.0\.1:", workers, master)
    except BaseException:
        cluster.stop()
        raise
    return cluster
