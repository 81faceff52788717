"""The in-process ticker of the embedded default: two daemon threads in the server process.

In production Celery beat runs policies.sla_tick instead (a django-celery-beat schedule the migrations
create); the ticker starts only where HELPDESK_SLA_TICKER is on, the default when there is no broker. The
clock thread runs the same batches as the Celery task; webhook calls get their own thread, so that a slow
target never delays a tick.
"""

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from policies.services.webhooks import webhook_call_attempt, webhook_calls_claim

logger = logging.getLogger(__name__)

_started = threading.Event()


def ticker_start() -> None:
    """Start the ticker threads once per process, if the settings ask for it."""
    if not settings.HELPDESK_SLA_TICKER or _started.is_set():
        return
    _started.set()
    from policies.tasks import tick_once

    threading.Thread(target=_loop, args=(tick_once,), name="sla-ticker", daemon=True).start()
    threading.Thread(target=_loop, args=(_send_webhooks,), name="escalation-webhooks", daemon=True).start()


def _send_webhooks() -> None:
    # One claim at a time: a lease starts when its call is about to be sent, not while others go first.
    while claimed := webhook_calls_claim(now=timezone.now(), limit=1):
        try:
            webhook_call_attempt(claim=claimed[0], now=timezone.now())
        except Exception:
            logger.exception("escalation webhook call %s failed to run", claimed[0].call_id)
            return


def _loop(work: Callable[[], object]) -> None:
    stop = threading.Event()
    while not stop.wait(settings.HELPDESK_SLA_TICK_SECONDS):
        try:
            work()
        except Exception:
            # A bad round must not end the thread: the next one tries again.
            logger.exception("the %s round failed", threading.current_thread().name)
        finally:
            close_old_connections()
