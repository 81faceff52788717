"""The in-process SLA ticker of the embedded default: a daemon thread in the server process.

In production Celery beat runs policies.sla_tick instead (CELERY_BEAT_SCHEDULE in settings); the ticker
starts only where HELPDESK_SLA_TICKER is on, which is the default when there is no Celery broker.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from policies.services.clocks import clocks_check

logger = logging.getLogger(__name__)

_started = threading.Event()


def ticker_start() -> None:
    """Start the ticker thread once per process, if the settings ask for it."""
    if not settings.HELPDESK_SLA_TICKER or _started.is_set():
        return
    _started.set()
    threading.Thread(target=_run, name="sla-ticker", daemon=True).start()


def _run() -> None:
    stop = threading.Event()
    while not stop.wait(settings.HELPDESK_SLA_TICK_SECONDS):
        try:
            clocks_check(now=timezone.now())
        except Exception:
            # A bad tick must not end the thread: the next one tries again.
            logger.exception("the SLA tick failed")
        finally:
            close_old_connections()
