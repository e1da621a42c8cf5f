"""The project file's JSON Schema names exactly the keys of the core's
definition table (sharedserver_definition_keys()): one cannot drift from
the other.

    check_schema.py LIBRARY SCHEMA
"""
import ctypes
import json
import sys


class Buf(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_char_p), ("size", ctypes.c_size_t)]


def main(library, schema_path):
    lib = ctypes.CDLL(library)
    buf = Buf()
    if lib.sharedserver_definition_keys(ctypes.byref(buf)) != 0:
        print("sharedserver_definition_keys failed", file=sys.stderr)
        return 1
    keys = {k["key"] for k in json.loads(buf.ptr.decode())}
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    in_schema = set(schema["$defs"]["server"]["properties"])
    if keys == in_schema:
        return 0
    print(f"{schema_path}: the schema and the definition table differ: only in the table: "
          f"{sorted(keys - in_schema)}; only in the schema: {sorted(in_schema - keys)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
