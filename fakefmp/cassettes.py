"""Record real FMP answers as cassette files (key stripped) and serve them back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import orjson

_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")
STRIPPED = "REDACTED"


@dataclass(frozen=True, slots=True)
class Recorded:
    status: int
    content_type: str
    body: bytes


def cassette_path(folder: Path, path: str, params: Mapping[str, str]) -> Path:
    """One file per (path, query without the key), named readably: `income-statement__period=annual...json`."""
    query = urlencode(sorted((k, v) for k, v in params.items() if k.lower() != "apikey"))
    name = _UNSAFE.sub("_", path.strip("/").replace("/", "__")) + (
        f"__{_UNSAFE.sub('_', query)}" if query else ""
    )
    return folder / f"{name}.json"


def load(folder: Path, path: str, params: Mapping[str, str]) -> Recorded | None:
    file = cassette_path(folder, path, params)
    if not file.is_file():
        return None
    data = orjson.loads(file.read_bytes())
    response = data["response"]
    return Recorded(int(response["status"]), str(response["content_type"]), response["body"].encode())


async def record(
    session: aiohttp.ClientSession,
    upstream: str,
    folder: Path,
    path: str,
    params: Mapping[str, str],
    key: str,
) -> Recorded:
    """Forward one request upstream (key in the header), store the answer with the key removed."""
    query = {k: v for k, v in params.items() if k.lower() != "apikey"}
    async with session.get(
        f"{upstream.rstrip('/')}/{path}", params=query, headers={"apikey": key}
    ) as response:
        body = await response.read()
        status, content_type = response.status, response.content_type
    text = body.decode("utf-8", errors="replace")
    if key:
        text = text.replace(key, STRIPPED)
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a tiny local write while recording
    document = {
        "request": {"path": path, "params": dict(sorted(query.items()))},
        "response": {"status": status, "content_type": content_type, "body": text},
    }
    cassette_path(folder, path, params).write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return Recorded(status, content_type, text.encode())
