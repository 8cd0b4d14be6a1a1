"""An independent GGUF v3 reader and writer written from the public
specification (ggml docs/gguf.md) for the tests: key/values, tensor infos
and each tensor's raw bytes, and numpy dequantisation of the types rmb
reads (Q4_K and Q6_K from ggml's block layouts, ggml-common.h)."""
import struct

import numpy as np

SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
           10: "<Q", 11: "<q", 12: "<d"}
# ggml type: (name, values per block, bytes per block)
GGML = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 8: ("Q8_0", 32, 34), 12: ("Q4_K", 256, 144),
        14: ("Q6_K", 256, 210), 30: ("BF16", 1, 2)}


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



def q4_k_dequant(raw):
    """144-byte super-blocks: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and
    mins for 8 sub-blocks of 32, then 128 bytes of nibbles (sub-blocks 2c
    and 2c+1 are the low and high nibbles of bytes 32c..32c+31)."""
    b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 144)
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
    dmin = b[:, 2:4].copy().view(np.float16).astype(np.float32)
    p = b[:, 4:16].astype(np.int32)
    sc = np.concatenate([p[:, 0:4] & 63, (p[:, 8:12] & 15) | ((p[:, 0:4] >> 6) << 4)], axis=1)
    mn = np.concatenate([p[:, 4:8] & 63, (p[:, 8:12] >> 4) | ((p[:, 4:8] >> 6) << 4)], axis=1)
    qs = b[:, 16:].reshape(-1, 4, 32)
    q = np.stack([qs & 15, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.float32)
    ds = (d * sc.astype(np.float32))[:, :, None]
    dm = (dmin * mn.astype(np.float32))[:, :, None]
    return (ds * q - dm).reshape(-1)


def q6_k_dequant(raw):
    """210-byte super-blocks: 128 bytes of low nibbles, 64 of 2-bit highs,
    16 int8 scales (one per 16 values), fp16 d; value d * scale * (q - 32).
    In each half of 128 values, quarter k takes nibble k // 2 of low bytes
    32 (k % 2) .. +31 and bits 2k..2k+1 of the 32 high bytes."""
    b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 210)
    d = b[:, 208:210].copy().view(np.float16).astype(np.float32).reshape(-1, 1, 1)
    scale = b[:, 192:208].copy().view(np.int8).astype(np.float32).reshape(-1, 16, 1)
    out = []
    for h in range(2):
        ql = b[:, 64 * h:64 * h + 64].astype(np.int32)
        qh = b[:, 128 + 32 * h:128 + 32 * h + 32].astype(np.int32)
        for k in range(4):
            lo = (ql[:, 32 * (k % 2):32 * (k % 2) + 32] >> (4 * (k // 2))) & 15
            out.append((lo | (((qh >> (2 * k)) & 3) << 4)) - 32)
    q = np.stack(out, axis=1).reshape(-1, 16, 16).astype(np.float32)
    return (d * scale * q).reshape(-1)


def dequantize(kind, shape, raw):
    """A tensor's values as float32 numpy, HF shape."""
    n = int(np.prod(shape))
    if kind == "F32":
        x = np.frombuffer(raw, dtype="<f4")
    elif kind == "F16":
        x = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    elif kind == "BF16":
        x = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    elif kind == "Q8_0":
        x = q8_0_dequant(raw, n)
    else:
        x = (q4_k_dequant if kind == "Q4_K" else q6_k_dequant)(raw)
    return x.reshape(shape)


def write_gguf(path, kv, types, tensors):
    """kv/types as read_gguf gives them (scalars and strings); tensors:
    {name: (kind, HF shape, raw bytes)}, written aligned to 32."""
    ids = {v[0]: k for k, v in GGML.items()}

    def string(s):
        b = s.encode() if isinstance(s, str) else s
        return struct.pack("<Q", len(b)) + b

    out = [b"GGUF", struct.pack("<IQQ", 3, len(tensors), len(kv))]
    for key, value in kv.items():
        t = types[key]
        out += [string(key), struct.pack("<I", t),
                string(value) if t == 8 else struct.pack(SCALARS[t], value)]
    offset, blobs = 0, []
    for name, (kind, shape, raw) in tensors.items():
        offset += -offset % 32
        ne = list(reversed(shape))
        out += [string(name), struct.pack("<I", len(ne)), struct.pack("<%dQ" % len(ne), *ne),
                struct.pack("<IQ", ids[kind], offset)]
        blobs.append((offset, raw))
        offset += len(raw)
    head = b"".join(out)
    data = bytearray(offset)
    for at, raw in blobs:
        data[at:at + len(raw)] = raw
    with open(path, "wb") as f:
        f.write(head + bytes(-len(head) % 32) + bytes(data))
