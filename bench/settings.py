"""Settings for the benchmark server: the project's own settings, plus the bare-insert baseline view.

Everything else (database, Redis, DEBUG) still comes from the environment, exactly as in production, so the
figures are those of the real configuration with one extra URL.
"""

from helpdesk.settings import *  # noqa: F403 - the benchmark must run the project's settings unchanged

ROOT_URLCONF = "bench.urls"
