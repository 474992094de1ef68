"""Take the network away from a query worker: a seccomp filter that refuses IP sockets.

pyoxigraph evaluates ``SERVICE <http://…>`` with its own HTTP client and offers no way to veto
a call (0.5.13: ``Store.query`` has no service handler nor an option to disable federation).
So when no remote endpoint is allowed (the ``sparql_allowed_services`` setting is empty, the
default) the worker process installs, before it reads any query, a Linux seccomp filter under
which ``socket(AF_INET | AF_INET6, …)`` and ``io_uring_setup`` fail with ``EPERM``: whatever
spelling of ``SERVICE`` got past the query checks, the engine cannot open a connection (it
reports "Operation not permitted").  The socket pair to the parent is created before the filter
and is a Unix socket, so it keeps working; nothing else in a worker uses the network.

The filter is made of a few classic-BPF instructions written here with ``ctypes`` (no extra
dependency).  It exists for x86-64 and AArch64 Linux; elsewhere :func:`forbid_network` returns
``False`` and the query checks of :mod:`graph.query_guard` are the only barrier.
"""

from __future__ import annotations

import ctypes
import platform
import sys

_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1  # apply to every thread of the process
_RET_ALLOW = 0x7FFF0000
_RET_EPERM = 0x00050000 | 1
_AF_INET, _AF_INET6 = 2, 10
_X32_BIT = 0x40000000  # x86-64's x32 ABI numbers: refused wholesale

# machine -> (AUDIT_ARCH_*, __NR_seccomp, __NR_socket, __NR_io_uring_setup)
_ARCHES = {
    "x86_64": (0xC000003E, 317, 41, 425),
    "aarch64": (0xC00000B7, 277, 198, 425),
}


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def _program(arch: int, nr_socket: int, nr_io_uring: int, x32: bool) -> list[tuple[int, ...]]:
    """The BPF program as (code, jt, jf, k) tuples; jumps count the instructions skipped."""
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, JMP|JEQ|K, JMP|JGE|K, RET|K
    # struct seccomp_data: nr at offset 0, arch at 4, args[0] (low 32 bits) at 16
    return [
        (load, 0, 0, 4),
        (jeq, 1, 0, arch),  # another ABI (e.g. i386 via int 0x80): refused
        (ret, 0, 0, _RET_EPERM),
        (load, 0, 0, 0),
        (jge, 0, 1, _X32_BIT) if x32 else (jeq, 0, 1, 0xFFFFFFFF),
        (ret, 0, 0, _RET_EPERM),
        (jeq, 0, 1, nr_io_uring),  # io_uring could open sockets without socket(2)
        (ret, 0, 0, _RET_EPERM),
        (jeq, 0, 3, nr_socket),
        (load, 0, 0, 16),
        (jeq, 2, 0, _AF_INET),
        (jeq, 1, 0, _AF_INET6),
        (ret, 0, 0, _RET_ALLOW),
        (ret, 0, 0, _RET_EPERM),
    ]


def forbid_network() -> bool:
    """Refuse IP sockets to this process from now on; ``True`` when the filter is installed."""
    machine = platform.machine().lower()
    if not sys.platform.startswith("linux") or machine not in _ARCHES:
        return False
    arch, nr_seccomp, nr_socket, nr_io_uring = _ARCHES[machine]
    prog = _program(arch, nr_socket, nr_io_uring, x32=machine == "x86_64")
    filters = (_Filter * len(prog))(*[_Filter(c, jt, jf, k) for c, jt, jf, k in prog])
    program = _Program(len(prog), filters)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                               ctypes.c_ulong]
        libc.syscall.restype = ctypes.c_long
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return False
        done = libc.syscall(ctypes.c_long(nr_seccomp), ctypes.c_long(_SECCOMP_SET_MODE_FILTER),
                            ctypes.c_long(_SECCOMP_FILTER_FLAG_TSYNC), ctypes.byref(program))
    except (OSError, AttributeError):
        return False
    return bool(done == 0)
