"""Logging: one JSON object per line (DS_LOG_FORMAT=json) or plain text for a
terminal, and the request id that ties a request's log lines, its response
header and its problem details together."""
from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is echoed only if it is short, printable and header-safe;
# anything else is replaced, so a log line can never be forged through it.
_VALID_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                         default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def current_request_id() -> str | None:
    return _request_id.get()


def begin_request(header_value: str | None) -> str:
    """Adopt the caller's X-Request-ID when it is sane, else make one."""
    rid = header_value if header_value and _VALID_ID.fullmatch(header_value) else uuid.uuid4().hex
    _request_id.set(rid)
    return rid


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
               + f".{int(record.msecs):03d}Z",
               "level": record.levelname.lower(), "logger": record.name,
               "message": record.getMessage()}
        rid = getattr(record, "request_id", None)
        if rid:
            doc["request_id"] = rid
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [request_id={rid}]" if rid else line


def log_config(fmt: str, level: str) -> dict:
    """dictConfig for the whole process, Sanic's own loggers included (Sanic
    takes it as `log_config` in every worker)."""
    formatter = "json" if fmt == "json" else "text"
    handler = {"class": "logging.StreamHandler", "formatter": formatter,
               "filters": ["request_id"], "stream": "ext://sys.stderr"}
    quiet = {"level": "WARNING", "handlers": ["default"], "propagate": False}
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": {"()": JsonFormatter}, "text": {"()": TextFormatter}},
        "handlers": {"default": handler},
        "root": {"level": level.upper(), "handlers": ["default"]},
        "loggers": {
            "sanic.root": {"level": level.upper(), "handlers": ["default"], "propagate": False},
            "sanic.error": {"level": level.upper(), "handlers": ["default"], "propagate": False},
            "sanic.server": {"level": level.upper(), "handlers": ["default"],
                             "propagate": False},
            "sanic.access": quiet,
            "yoyo": quiet,
        },
    }


def configure(fmt: str, level: str) -> None:
    import logging.config
    logging.config.dictConfig(log_config(fmt, level))
