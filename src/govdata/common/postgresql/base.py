"""Django's PostgreSQL backend, but for how a reused connection is checked before a request's
first query (``CONN_HEALTH_CHECKS``).

Django asks the server (``SELECT 1``) and waits for the answer: a round trip on every request
that uses the database (a gateway call needs four others). A server that ends a session
(restart, crash, ``pg_terminate_backend``, ``idle_session_timeout``) says so on the socket: a
fatal error message, or at least the end of the stream. On an idle connection nothing else
arrives unasked (the platform does not ``LISTEN``), so a socket with something to read, or in
error, is a connection that cannot serve the request — found by one non-blocking poll, without
the server. What neither check finds in time is a peer gone without a word (a network cut):
there ``SELECT 1`` would wait for TCP to give up.

A rare false alarm (a notice sent unasked) costs a reconnection, never a failed request. After
an error in a request Django still checks with ``SELECT 1`` (``is_usable``).
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


def closed_by_server(connection) -> bool:
    """Whether this idle psycopg connection has been ended, as far as its socket tells."""
    if connection.closed or connection.broken:
        return True
    try:
        poller = select.poll()  # not select.select: descriptors above 1023 are fine
        poller.register(connection.pgconn.socket, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, base.Database.Error):
        return True


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if self.pool or self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if closed_by_server(self.connection):
            self.close()
        self.health_check_done = True
