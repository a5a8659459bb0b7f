"""gunicorn's settings when started from this folder (`.venv/bin/gunicorn wsgi:app`; gunicorn reads
./gunicorn.conf.py by itself). Command-line options (-w, -b, --threads) still win.

Metrics: every worker is a process of its own, so prometheus-client keeps its counters in files of
PROMETHEUS_MULTIPROC_DIR (emptied at start; a temporary folder unless set) and /metrics sums them
(obcms/ops/metrics.py); a worker that exits is marked dead so that its live gauges stop counting.
"""
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30


def on_starting(server):
    folder = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                                   os.path.join(tempfile.gettempdir(), f"obcms-metrics-{os.getpid()}"))
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    # Imported here, not above: prometheus-client picks its multiprocess value class when first imported, so
    # the master must not import it before on_starting has set PROMETHEUS_MULTIPROC_DIR (workers fork from it).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
