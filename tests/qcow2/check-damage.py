#!/usr/bin/env python3
"""Damage a qcow2 image in one known way, for tests/qcow2/check-vs-qemu.sh.

usage: check-damage.py IMAGE HOW
  leak        append a cluster to the file and give it refcount 1 (a leak)
  raise       raise the refcount of the first data cluster by one (a leak,
              and its COPIED flag then disagrees: a corruption)
  lower       lower the refcount of the first cluster with a count of 2 or
              more by one (a corruption -r all repairs)
  zero        set the refcount of the first data cluster to 0 (a corruption
              that needs the refcount structure rebuilt)
  copied-l2   clear the COPIED flag of the first data cluster's L2 entry
  copied-l1   clear the COPIED flag of the first L1 entry
  past-eof    point the first data cluster's L2 entry past the end of the file
  dirty       set the dirty bit (version 3)
Prints nothing; fails when the image has nothing to damage that way.
"""
import struct
import sys


class Image:
    def __init__(self, path):
        self.f = open(path, 'r+b')
        h = self.f.read(112)
        self.version = struct.unpack('>I', h[4:8])[0]
        self.cluster_bits = struct.unpack('>I', h[20:24])[0]
        self.cs = 1 << self.cluster_bits
        self.l1_size = struct.unpack('>I', h[36:40])[0]
        self.l1_offset = struct.unpack('>Q', h[40:48])[0]
        self.rt_offset = struct.unpack('>Q', h[48:56])[0]
        self.rt_clusters = struct.unpack('>I', h[56:60])[0]
        self.order = struct.unpack('>I', h[96:100])[0] if self.version >= 3 else 4
        self.extended = self.version >= 3 and bool(struct.unpack('>Q', h[72:80])[0] & 16)

    def u64(self, off):
        self.f.seek(off)
        return struct.unpack('>Q', self.f.read(8))[0]

    def put64(self, off, v):
        self.f.seek(off)
        self.f.write(struct.pack('>Q', v))

    def size(self):
        self.f.seek(0, 2)
        return self.f.tell()

    def entry_place(self, cluster):
        per_block = self.cs * 8 >> self.order
        block = self.u64(self.rt_offset + 8 * (cluster // per_block)) & ~0x1ff
        if not block:
            sys.exit('cluster %d has no refcount block' % cluster)
        return block, cluster % per_block

    def refcount(self, cluster):
        block, i = self.entry_place(cluster)
        bits = 1 << self.order
        if bits < 8:
            self.f.seek(block + i * bits // 8)
            return (self.f.read(1)[0] >> (i * bits % 8)) & ((1 << bits) - 1)
        self.f.seek(block + i * bits // 8)
        return int.from_bytes(self.f.read(bits // 8), 'big')

    def set_refcount(self, cluster, count):
        block, i = self.entry_place(cluster)
        bits = 1 << self.order
        if bits < 8:
            self.f.seek(block + i * bits // 8)
            b = self.f.read(1)[0]
            shift = i * bits % 8
            mask = ((1 << bits) - 1) << shift
            b = (b & ~mask) | ((count << shift) & mask)
            self.f.seek(block + i * bits // 8)
            self.f.write(bytes([b]))
            return
        self.f.seek(block + i * bits // 8)
        self.f.write(count.to_bytes(bits // 8, 'big'))

    def data_entries(self):
        """(where the L2 entry lies, the entry) of every standard data cluster."""
        step = 16 if self.extended else 8
        for i in range(self.l1_size):
            l2 = self.u64(self.l1_offset + 8 * i) & 0x00fffffffffffe00
            if not l2:
                continue
            for j in range(self.cs // step):
                e = self.u64(l2 + j * step)
                if not (e & (1 << 62)) and e & 0x00fffffffffffe00:
                    yield l2 + j * step, e


def main():
    img, how = Image(sys.argv[1]), sys.argv[2]
    first = next(img.data_entries(), None)
    if how == 'leak':
        end = (img.size() + img.cs - 1) // img.cs * img.cs
        img.f.truncate(end + img.cs)
        img.set_refcount(end // img.cs, 1)
    elif how in ('raise', 'zero'):
        if not first:
            sys.exit('no data cluster')
        c = (first[1] & 0x00fffffffffffe00) // img.cs
        img.set_refcount(c, img.refcount(c) + 1 if how == 'raise' else 0)
    elif how == 'lower':
        for c in range(img.size() // img.cs):
            n = img.refcount(c)
            if n >= 2:
                img.set_refcount(c, n - 1)
                return
        sys.exit('no cluster with a refcount of 2 or more')
    elif how == 'copied-l2':
        if not first:
            sys.exit('no data cluster')
        img.put64(first[0], first[1] & ~(1 << 63))
    elif how == 'copied-l1':
        for i in range(img.l1_size):
            e = img.u64(img.l1_offset + 8 * i)
            if e:
                img.put64(img.l1_offset + 8 * i, e & ~(1 << 63))
                return
        sys.exit('no L2 table')
    elif how == 'past-eof':
        if not first:
            sys.exit('no data cluster')
        far = (img.size() // img.cs + 100) * img.cs
        img.put64(first[0], (first[1] & ~0x00fffffffffffe00) | far)
    elif how == 'dirty':
        img.put64(72, img.u64(72) | 1)
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
