"""Write tests/golden/recordio/ with MXNet 1.9.1's RecordIO writer (run with MXNet's Python).

    /tmp/mxref/bin/python tools/gen_golden_recordio.py

The records (shared with tests/io/test_recordio.py through RECORDS below) include payloads that
contain the RecordIO magic at 4-byte boundaries, which MXNet's writer splits into parts.
"""

import os
import struct
import sys

MAGIC = struct.pack("<I", 0xCED7230A)

# (key, flag/label, id, payload) -- a list label becomes a label array
RECORDS = [
    (0, 1.0, 10, b"plain"),
    (1, [1.0, 2.0, 3.0], 11, b"with label array"),
    (2, 2.0, 12, MAGIC + b"12345678" + MAGIC),
    (3, 0.5, 13, b"abcd" + MAGIC + b"tail!"),
    (4, 3.0, 14, b""),
]


def main(out_dir):
    import mxnet as mx

    os.makedirs(out_dir, exist_ok=True)
    rec = mx.recordio.MXIndexedRecordIO(os.path.join(out_dir, "mxnet.idx"),
                                        os.path.join(out_dir, "mxnet.rec"), "w")
    for key, label, rid, payload in RECORDS:
        rec.write_idx(key, mx.recordio.pack(mx.recordio.IRHeader(0, label, rid, 0), payload))
    rec.close()


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(here, "..", "tests", "golden", "recordio"))
