"""Load is aimed at 127.0.0.1 only, unless the operator says otherwise: a load test pointed at a school's real
server by a typo would be an outage."""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

#: Set to 1 to allow a non-loopback host (the same as ``--allow-remote``).
ALLOW_REMOTE_ENV = "ROLLCALL_LOADTEST_ALLOW_REMOTE"


class RemoteHostError(ValueError):
    pass


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def check_host(url: str, allow_remote: bool = False) -> str:
    """``url`` if it is on loopback or remote hosts were allowed; else ``RemoteHostError``."""
    if allow_remote or os.environ.get(ALLOW_REMOTE_ENV) == "1" or is_loopback(url):
        return url
    raise RemoteHostError(
        f"{url} is not on 127.0.0.1: pass --allow-remote (or set {ALLOW_REMOTE_ENV}=1) to load a remote host"
    )
