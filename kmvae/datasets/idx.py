"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a header followed by the array in C order, big-endian:

    bytes 0-1   zero
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64
    byte  3     number of dimensions d
    then        d big-endian uint32 sizes, then the data.

Files ending in `.gz` are read and written gzip-compressed (as distributed by LeCun et al. and
Zalando). See http://yann.lecun.com/exdb/mnist/ (section "file formats").
"""

import gzip
import os
import pathlib
import struct

import numpy as np

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(t).newbyteorder("=").str[1:]: code for code, t in _TYPES.items()}


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file (the message names the file and the problem)."""


def _open(path, mode="rb"):
    path = str(path)
    return gzip.open(path, mode) if path.endswith(".gz") else open(path, mode)


def _parse_header(path, head):
    """`(dtype, shape, header_size)` from the first bytes of `path`."""
    if len(head) < 4:
        raise IdxFormatError(f"{path}: not an IDX file: {len(head)} bytes, shorter than the "
                             f"4-byte magic number.")
    zero, code, ndim = struct.unpack(">HBB", head[:4])
    if zero != 0 or code not in _TYPES:
        raise IdxFormatError(f"{path}: not an IDX file: magic number {head[:4].hex()}; expected "
                             f"0000 then a type code in {sorted(hex(c) for c in _TYPES)} then the "
                             f"number of dimensions.")
    if ndim == 0:
        raise IdxFormatError(f"{path}: IDX header has 0 dimensions; expected at least 1.")
    if len(head) < 4 + 4 * ndim:
        raise IdxFormatError(f"{path}: IDX header announces {ndim} dimensions but the file ends "
                             f"after {len(head)} bytes.")
    shape = struct.unpack(f">{ndim}I", head[4:4 + 4 * ndim])
    return np.dtype(_TYPES[code]), tuple(shape), 4 + 4 * ndim


def read_idx_header(path):
    """The dtype and shape an IDX file declares, reading only its header.

    Args:
        path: an IDX file, gzip-compressed if its name ends in `.gz`.

    Returns:
        `(dtype, shape)`: a big-endian numpy dtype and a tuple of ints.

    Raises:
        IdxFormatError (a ValueError): the header is malformed; the message names the file.
        FileNotFoundError: `path` does not exist.
    """
    with _open(path) as f:
        head = f.read(4 + 4 * 255)
    dtype, shape, _ = _parse_header(path, head)
    return dtype, shape


def read_idx(path):
    """The array stored in an IDX file.

    Args:
        path: an IDX file, gzip-compressed if its name ends in `.gz`.

    Returns:
        A numpy array of the file's shape, in native byte order (uint8 for MNIST images
        `(n, 28, 28)` and labels `(n,)`).

    Raises:
        IdxFormatError (a ValueError): bad magic number, type code or dimensions, or a data size
            that does not match the header; the message names the file.
        FileNotFoundError: `path` does not exist.
    """
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        if isinstance(error, FileNotFoundError):
            raise
        raise IdxFormatError(f"{path}: cannot be read as an IDX file: {error}") from error
    dtype, shape, offset = _parse_header(path, raw)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise IdxFormatError(f"{path}: IDX header declares shape {shape} of {dtype.name} "
                             f"({expected} bytes of data) but the file holds "
                             f"{len(raw) - offset} bytes of data.")
    data = np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Writes `array` as an IDX file (gzip-compressed if `path` ends in `.gz`).

    The file is written under a temporary name and renamed, so `path` is either absent or
    complete.

    Args:
        path: the file to write; its folder must exist.
        array: a numpy array of dtype uint8, int8, int16, int32, float32 or float64 with at
            least one dimension.

    Returns:
        `path` as a `pathlib.Path`.

    Raises:
        ValueError: the dtype has no IDX type code, or the array is a scalar.
    """
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("=").str[1:])
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; expected one of "
                         f"{sorted(np.dtype(t).name for t in _TYPES.values())}.")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX stores 1 to 255 dimensions; received an array of shape "
                         f"{array.shape}.")
    path = pathlib.Path(path)
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    partial = path.with_name(".partial-" + path.name)  # keeps the .gz ending
    with _open(partial, "wb") as f:
        f.write(header)
        f.write(np.ascontiguousarray(array, dtype=_TYPES[code]).tobytes())
    os.replace(partial, path)
    return path
