"""Secret values kept out of log output and crash tracebacks, as a defence in depth.

brandmon's own code never logs a secret; its libraries might (aiokafka logs every request it sends
at DEBUG, SASL/PLAIN's included, whose bytes hold the password). `install()` makes every log
record created in the process, whatever its logger or handler, carry its message and traceback
with each registered secret replaced by `[redacted]`, and does the same for uncaught exceptions.
The CLI installs it first and registers the values of: the SASL password (variable or file), any
environment variable whose name says it holds a secret (`*TOKEN*`, `*SECRET*`, `*PASSWORD*`...),
and every value a configured source reads through a `*_env` or `*_file` option. Values shorter
than `MIN_LENGTH` characters are not registered: replacing them would mangle ordinary text.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from brandmon.settings import KafkaSettingsError, Settings

REDACTED = "[redacted]"
MIN_LENGTH = 6
MAX_FILE_BYTES = 64 * 1024
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW(OR)?D|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL", re.I)
"""Environment variables whose names match hold secrets (GRAFANA_TOKEN, *_CLIENT_SECRET, ...)."""


class Redactor:
    """Replaces every registered secret in a text, also as it appears inside a `repr`."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def register(self, value: str | bytes | None) -> None:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if value is None or len(value.strip()) < MIN_LENGTH:
            return
        value = value.strip()
        # as printed, and as it appears inside the repr of a str or bytes (escaped quotes, \n, ...)
        forms = {value, repr(value)[1:-1], repr(value.encode())[2:-1]}
        if forms <= self._secrets:
            return
        self._secrets |= forms
        ordered = sorted(self._secrets, key=len, reverse=True)  # a secret containing another first
        self._pattern = re.compile("|".join(re.escape(secret) for secret in ordered))

    def redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED, text)


_redactor = Redactor()
register = _redactor.register
redact = _redactor.redact
_installed = False


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: the handler reports it, with nothing formatted
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[1] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact(text)
        if clean != text:
            record.exc_text = clean  # formatters print exc_text instead of formatting exc_info
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install() -> None:
    """Redact every log record and uncaught exception of this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    create_record = logging.getLogRecordFactory()

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = create_record(*args, **kwargs)
        if _redactor.active:
            _redact_record(record)
        return record

    logging.setLogRecordFactory(redacting_record)
    previous_hook = sys.excepthook

    def redacting_excepthook(
        kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        if not _redactor.active:
            previous_hook(kind, error, trace)
            return
        sys.stderr.write(redact("".join(traceback.format_exception(kind, error, trace))))
        sys.stderr.flush()

    sys.excepthook = redacting_excepthook


def register_environment(environ: Mapping[str, str] = os.environ) -> None:
    for name, value in environ.items():
        if SECRET_NAME.search(name):
            register(value)


def register_settings(settings: Settings) -> None:
    """The SASL password, from its variable or its file (unreadable files are reported later,
    by the Kafka client that needs them)."""
    with contextlib.suppress(KafkaSettingsError):
        register(settings.sasl_password())


def _read_small(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # the source reports it when it reads the file itself


def register_source_options(options_of_sources: Iterable[Mapping[str, Any]]) -> None:
    """What each source reads via `<name>_env` (a variable's name) or `<name>_file` (a path):
    tokens, client secrets, private feed URLs. A value with several whitespace-separated parts
    (`feeds_env`) or lines (`feeds_file`) registers each part too."""
    for options in options_of_sources:
        for key, value in options.items():
            if key.endswith("_env"):
                text = os.environ.get(str(value), "")
                parts = text.split()
            elif key.endswith("_file"):
                text = _read_small(Path(str(value))) or ""
                lines = (line.strip() for line in text.splitlines())
                parts = [line for line in lines if line and not line.startswith("#")]
            else:
                continue
            register(text)
            for part in parts:
                register(part)
