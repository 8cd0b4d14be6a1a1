"""An independent GGUF v3 reader written from the public specification
(ggml docs/gguf.md) for the tests: key/values, tensor infos and each
tensor's raw bytes, and numpy dequantisation of the types rmb writes."""
import struct

import numpy as np

SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
           10: "<Q", 11: "<q", 12: "<d"}
# ggml type: (name, values per block, bytes per block)
GGML = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 8: ("Q8_0", 32, 34), 30: ("BF16", 1, 2)}


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)[0]
        self.p += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.d[self.p:self.p + n]
        assert len(s) == n, "string runs past the file"
        self.p += n
        return s.decode("utf-8")

    def value(self, t):
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("<I"), self.take("<Q")
            return [self.value(et) for _ in range(n)]
        return self.take(SCALARS[t])


def read_gguf(path):
    with open(path, "rb") as f:
        data = f.read()
    r = Reader(data)
    assert data[:4] == b"GGUF", "magic"
    assert r.take("<4s") == b"GGUF" and r.take("<I") == 3, "version"
    n_tensors, n_kv = r.take("<Q"), r.take("<Q")
    kv, types = {}, {}
    for _ in range(n_kv):
        key = r.string()
        t = r.take("<I")
        assert key not in kv, "duplicate key " + key
        kv[key], types[key] = r.value(t), t
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("<I")
        ne = [r.take("<Q") for _ in range(nd)]
        infos.append((name, ne, r.take("<I"), r.take("<Q")))
    align = kv.get("general.alignment", 32)
    start = r.p + (-r.p % align)
    tensors = {}
    for name, ne, t, off in infos:
        assert off % align == 0, name + ": offset not aligned"
        _, blk, size = GGML[t]
        n = int(np.prod(ne))
        nbytes = n // blk * size
        raw = data[start + off:start + off + nbytes]
        assert len(raw) == nbytes, name + ": data runs past the file"
        tensors[name] = (GGML[t][0], list(reversed(ne)), raw)
    return kv, types, tensors


def q8_0_dequant(raw, n):
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 34)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32).reshape(-1, 1)
    q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
    return (q * d).reshape(-1)[:n]



def dequantize(kind, shape, raw):
    """A tensor's values as float32 numpy, HF shape."""
    n = int(np.prod(shape))
    if kind == "F32":
        x = np.frombuffer(raw, dtype="<f4")
    elif kind == "F16":
        x = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    elif kind == "BF16":
        x = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        x = q8_0_dequant(raw, n)
    return x.reshape(shape)
