"""The shared stream base: paging, cursor load/save, the page loop and its guards.

In the spirit of Airbyte's ``HttpStream`` and the Singer SDK's ``RESTStream``: a
connector's stream states only what differs — how a saved cursor becomes this pass's
state (`begin`), how to start over (`restart`), one request (`fetch`) and how to read
its page (`read`) — and `PagedStream.sync` owns the rest, the same for all six:

- each page's records and the cursor are saved together (``ctx.save_page``), and the
  worker's stop signal is checked between pages;
- a page token seen before in the same pass ends the pass with a warning (a provider
  repeating ``nextPageToken`` would otherwise page until a cap, or forever);
- a saved token the provider refuses (VALIDATION_ERROR on the first request of a resumed
  pass: expired or invalid page tokens, dead Graph cursors) restarts the pass from the
  start, once; refused again, it is raised;
- "too much data" (`too_much_data`: Meta HTTP 500 code 1 "reduce the amount of data",
  Google/YouTube ``responseTooLarge``, HTTP 413) halves the page size, down to
  ``min_page_size``, and asks again;
- at most ``max_pages`` pages per pass: the pass then ends with a warning.

The state is the stream's own cursor object: it exposes the next page's token as
``token`` (None: the pass is complete) and ``dump()`` for the ledger.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from tributary_common.categories import ErrorCategory
from tributary_common.connectors import Record, SyncContext
from tributary_common.errors import ProviderError
from tributary_common.logs import event

log = logging.getLogger(__name__)

#: Texts of "you asked for too much in one page" answers (Meta code 1, Google, YouTube).
_TOO_MUCH = ("reduce the amount of data", "responsetoolarge", "response too large")


class StreamState(Protocol):
    #: The next page's token, URL or ``after`` cursor; None once the pass is complete.
    token: Any

    def dump(self) -> dict[str, Any]:
        """The cursor as saved in the ledger."""


S = TypeVar("S", bound=StreamState)


def too_much_data(error: ProviderError) -> bool:
    """True when the provider refused a page for its size (retry with a smaller one)."""
    text = error.message.lower()
    return error.status == 413 or any(marker in text for marker in _TOO_MUCH)


class PagedStream(ABC, Generic[S]):
    #: The ledger resource the cursor is saved under.
    resource: ClassVar[str]
    #: Items asked for per page, and the floor "too much data" halves it down to.
    page_size: ClassVar[int] = 100
    min_page_size: ClassVar[int] = 10
    #: Hard cap of pages per pass.
    max_pages: ClassVar[int] = 500

    @abstractmethod
    def begin(self, ctx: SyncContext, saved: dict[str, Any] | None) -> S:
        """This pass's state from the saved cursor: resume it, or start a new pass."""

    @abstractmethod
    def restart(self, ctx: SyncContext, state: S) -> S:
        """A new pass from the start (the saved token was refused)."""

    @abstractmethod
    def fetch(self, ctx: SyncContext, state: S, page_size: int) -> Any:
        """Send the request for ``state.token``'s page; return what `read` needs."""

    @abstractmethod
    def read(self, ctx: SyncContext, state: S, page: Any) -> Sequence[Record]:
        """Take one page into ``state`` (its ``token`` set to the next page or None)."""

    def end(self, ctx: SyncContext, state: S) -> None:
        """Called once the pass is complete (e.g. the day's activity count)."""

    def resumed(self, state: S) -> bool:
        """True when ``state`` continues a pass an earlier job saved (its token may be dead)."""
        return state.token is not None

    def sync(self, ctx: SyncContext) -> int:
        """Run the pass to its end; return how many records were new."""
        state = self.begin(ctx, ctx.load_cursor(self.resource))
        resuming = self.resumed(state)
        page_size = self.page_size
        seen: set[str] = set()
        pages = new = 0
        while True:
            try:
                page = self.fetch(ctx, state, page_size)
            except ProviderError as exc:
                if resuming and exc.category is ErrorCategory.VALIDATION_ERROR:
                    self._warn(ctx, "stream.cursor_refused", error=str(exc))
                    state, resuming = self.restart(ctx, state), False
                    continue
                if too_much_data(exc) and page_size > self.min_page_size:
                    page_size = max(page_size // 2, self.min_page_size)
                    self._warn(ctx, "stream.page_size_halved", page_size=page_size)
                    continue
                raise
            resuming = False
            if state.token is not None:
                seen.add(str(state.token))
            records = self.read(ctx, state, page)
            pages += 1
            if state.token is not None and str(state.token) in seen:
                self._warn(ctx, "stream.cursor_repeated", pages=pages)
                state.token = None
            elif state.token is not None and pages >= self.max_pages:
                self._warn(ctx, "stream.page_cap", pages=pages)
                state.token = None
            new += ctx.save_page(self.resource, records, state.dump())
            if state.token is None:
                self.end(ctx, state)
                return new
            ctx.check_stop()

    def _warn(self, ctx: SyncContext, name: str, **fields: Any) -> None:
        event(
            log,
            name,
            logging.WARNING,
            provider=ctx.request.connection.provider,
            resource=self.resource,
            job_id=str(ctx.request.job_id),
            **fields,
        )
