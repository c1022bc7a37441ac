#!/usr/bin/python3
"""qemu-differential.py - differential test of gluvirt's gluster URI parser
against the real QEMU (qemu-img), stdlib only.

It generates random gluster-URI-like strings from a small grammar plus
mutations (seeded), asks QEMU about each one through tests/uri/probe-qemu.sh
(qemu-img in a private, empty network namespace; needs root) and asks
`$GLUVIRT uri --json URI` about the same string, then compares:

  * the verdicts must agree (QEMU ok <-> gluvirt exit 0 with a JSON object,
    QEMU invalid <-> gluvirt exit 1);
  * for accepted URIs transport, volume, path, host, port and socket must
    agree after normalisation: an absent host is "localhost" in QEMU, an
    absent port or port 0 is 24007, QEMU keeps the [ ] of an IPv6 host while
    gluvirt strips them, gluster+rdma is tcp in QEMU.

Disagreements that gluvirt makes on purpose are listed in DEVIATIONS below
and counted separately; every other disagreement is a failure.

Usage:
  GLUVIRT=/path/to/gluvirt tests/uri/qemu-differential.py [--seed S] [--count N]
  tests/uri/qemu-differential.py --qemu-only            # QEMU side only (no gluvirt)
  GLUVIRT=... tests/uri/qemu-differential.py --table tests/uri/qemu-7.2-vectors.tsv
        # no qemu-img needed: use the recorded QEMU results of the vector table
  tests/uri/qemu-differential.py --print-uris          # just print the generated URIs

Output ends with the line "qemu-differential: N passed, M failed" and a line
with the number of deliberate deviations; the exit status is 1 if M > 0.
"""

import argparse
import ipaddress
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# Deliberate deviations of gluvirt from QEMU 7.2.
#
# One row per deviation: (name, allowed outcomes, predicate, comment).
# Allowed outcomes (any subset):
#   "rejects"  - QEMU accepts the URI, gluvirt rejects it
#   "accepts"  - QEMU rejects the URI, gluvirt accepts it
#   "fields"   - both accept, but some field differs
# A disagreement whose outcome is allowed by a row whose predicate is true for
# the URI is counted as a deliberate deviation instead of a failure.
# Predicates get a Parts object (see split_uri below: raw, scheme, authority,
# userinfo, host, port, path, query, fragment - raw text, None when absent)
# and the QEMU result (a dict with the vector-table columns).
# Edit this table when gluvirt's policy changes.
# ---------------------------------------------------------------------------
DEVIATIONS = [
    ("userinfo", {"rejects"},
     lambda p, q: p.userinfo is not None,
     "user@ / user:pw@ in the authority: QEMU drops it silently, gluvirt "
     "refuses it (a password in a URI leaks into logs)"),
    ("bad-ip-literal", {"rejects"},
     lambda p, q: p.host is not None and p.host.startswith("[")
     and not lenient_ip_literal(p.host),
     "[...] that is not an IPv6 address, '[]' included: QEMU 7.2 takes "
     "anything up to ']' and hands it, brackets and all, to the resolver"),
    ("dot-segment", {"rejects"},
     lambda p, q: has_dot_segment(image_path_of(p.path)),
     "'.' or '..' segment in the image path, also when percent-encoded"),
    ("nul-escape", {"rejects"},
     lambda p, q: "%00" in p.raw,
     "%00 anywhere: QEMU silently truncates the field at the NUL"),
    ("control-escape", {"rejects"},
     lambda p, q: re.search(r"%(0[0-9a-fA-F]|1[0-9a-fA-F]|7[fF])", p.raw)
     is not None,
     "percent-encoded control characters (%01..%1F, %7F): QEMU passes them on"),
    ("empty-socket", {"rejects"},
     lambda p, q: q.get("transport") == "unix" and not q.get("socket"),
     "gluster+unix with 'socket=' and no path: QEMU accepts it, nothing can "
     "connect to it"),
    ("long-socket", {"rejects"},
     lambda p, q: q.get("transport") == "unix"
     and len((q.get("socket") or "").encode("utf-8", "surrogateescape")) >= 108,
     "a socket path longer than a unix socket address holds"),
    ("unresolvable-host", {"rejects"},
     lambda p, q: q.get("transport") == "tcp" and q.get("host") is not None
     and not q["host"].startswith("[")
     and (len(q["host"]) > 255
          or re.search(r"[^A-Za-z0-9._~!$&'()*+,;=-]", q["host"]) is not None),
     "a host name longer than 255 bytes, or one whose escapes decode to a "
     "character no resolver takes (space, '/', ...)"),
    ("json-pseudo-protocol", {"rejects"},
     lambda p, q: p.raw.startswith("json:"),
     "QEMU's json:{...} option syntax (only in the vector table): not a URI"),
]
# ---------------------------------------------------------------------------
# Helpers for the predicates
# ---------------------------------------------------------------------------
class Parts:
    """Raw components of a URI-like string (RFC 3986 appendix B split;
    no validation, nothing decoded)."""

    _re = re.compile(r"^(?:([^:/?#]+):)?(//([^/?#]*))?([^?#]*)"
                     r"(?:\?([^#]*))?(?:#(.*))?$", re.S)

    def __init__(self, raw):
        self.raw = raw
        m = self._re.match(raw)
        self.scheme, has_auth, self.authority, self.path, self.query, \
            self.fragment = m.groups()
        if has_auth is None:
            self.authority = None
        self.userinfo = self.host = self.port = None
        if self.authority is not None:
            a = self.authority
            if "@" in a:
                self.userinfo, a = a.rsplit("@", 1)
            m2 = re.match(r"^(\[[^\]]*\]|[^:]*)(?::(.*))?$", a, re.S)
            if m2:
                self.host, self.port = m2.groups()
            else:
                self.host = a


def split_uri(raw):
    return Parts(raw)


def pct_decode(s):
    """Percent-decode (invalid escapes are kept as they are)."""
    out = bytearray()
    b = s.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(b):
        if b[i] == 0x25 and re.match(rb"[0-9a-fA-F]{2}", b[i + 1:i + 3]):
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    return out.decode("utf-8", "surrogateescape")


def valid_ip_literal(host):
    inner = host[1:-1] if host.endswith("]") else host[1:]
    if "%25" in inner:
        addr, zone = inner.split("%25", 1)
        if not zone or "%" in zone:
            return False
    elif "%" in inner:
        return False
    else:
        addr = inner
    try:
        ipaddress.IPv6Address(addr)
    except ValueError:
        return False
    return True


def lenient_ip_literal(host):
    """An IPv6 address in brackets, its zone written %25zone or %zone."""
    inner = pct_decode(host[1:-1] if host.endswith("]") else host[1:])
    addr = inner.split("%", 1)[0]
    if "%" in inner and not inner.split("%", 1)[1]:
        return False
    try:
        ipaddress.IPv6Address(addr)
    except ValueError:
        return False
    return True


def image_path_of(path):
    """The image path QEMU derives: the decoded path after the volume."""
    if not path:
        return None
    rest = pct_decode(path).lstrip("/")
    if "/" not in rest:
        return None
    return rest.split("/", 1)[1].lstrip("/")


def has_dot_segment(path):
    if not path:
        return False
    return any(seg in (".", "..") for seg in pct_decode(path).split("/"))


def plain_socket_query(query):
    items = query.split("&")
    if len(items) != 1:
        return False
    name, eq, value = items[0].partition("=")
    return name == "socket" and eq == "=" and value != "" and ";" not in query


# ---------------------------------------------------------------------------
# URI generator
# ---------------------------------------------------------------------------
# Only loopback addresses, names that cannot resolve, and socket paths that
# do not exist: the probes run in an empty network namespace anyway.
SCHEMES = [("gluster", 30), ("gluster+tcp", 10), ("gluster+unix", 25),
           ("gluster+rdma", 4), ("GLUSTER", 2), ("Gluster+unix", 1),
           ("gluster+udp", 2), ("glusterfs", 2), ("gluster+", 1),
           ("", 1)]
SEPS = [("://", 60), (":", 6), (":///", 2), (":/", 2)]
HOSTS = [("127.0.0.1", 20), ("127.1.2.3", 5), ("localhost", 8),
         ("LOCALHOST", 1), ("vm", 2), ("gl-node1.invalid", 6),
         ("h_x.invalid", 2), ("[::1]", 8), ("[fe80::1%25lo]", 3),
         ("[fe80::1%lo]", 1), ("[::ffff:127.0.0.1]", 2), ("[]", 2),
         ("[x]", 1), ("::1", 2), ("[::1", 1), ("", 14), ("h%2Dx.invalid", 1),
         ("h%20x.invalid", 1), ("%00", 1), ("127.0.0.1.", 1),
         ("999.999.999.999", 1)]
PORTS = [(None, 70), ("0", 4), ("1", 2), ("24007", 12), ("24008", 3),
         ("65535", 3), ("65536", 3), ("99999", 2), ("", 3), ("-1", 2),
         ("abc", 2), ("024007", 2), ("000", 1), ("9" * 20, 1), ("+1", 1)]
USERINFO = [(None, 120), ("user", 6), ("user:pw", 4), ("", 2), ("a%40b", 1),
            ("u:", 1), ("a@b", 1)]
VOLUMES = [("vol", 40), ("gv0", 15), ("test-vol", 5), ("test_vol", 5),
           ("Vol9", 3), ("a.b", 3), ("-x", 2), ("%76ol", 2), ("te%2Fst", 2),
           ("", 4), ("my%20vol", 2), (".", 2), ("..", 2), ("v%00", 1),
           ("%C3%A9", 1), ("v:x", 1), ("v@x", 1), ("_", 1)]
SEGMENTS = [("img.qcow2", 40), ("a.img", 20), ("dir", 15), ("sub", 8),
            (".", 3), ("..", 3), ("%2E%2E", 1), ("my%20img", 2), ("a+b", 2),
            ("a,b", 2), ("a;b=c", 2), ("x%00", 1), ("x%zz", 1), ("x%4", 1),
            ("é", 1), ("%C3%A9", 2), ("a b", 1), ("~x", 1), ("", 4),
            ("%3F", 1), ("%23", 1), ("%2F", 2), ("a:b", 1), ("a@b", 1),
            ("a%09", 1), ("-", 1), ("x" * 120, 1), ("a'b", 1), ('a"b', 1),
            ("a[b]", 1), ("a|b", 1), ("%E9", 1)]
SOCKS = ["/tmp/nonexistent/glusterd.socket", "/tmp/nonexistent/a.sock",
         "%2Ftmp%2Fnonexistent%2Fg.sock", "/tmp/nonexistent/a%26b.sock",
         "/tmp/nonexistent/a%2526b.sock", "/tmp/nonexistent/a=b.sock",
         "/tmp/nonexistent/a;b.sock", "/tmp/nonexistent/a%20b.sock",
         "/tmp/nonexistent/a+b.sock", "relative-nonexistent.sock",
         "/tmp/nonexistent/%C3%A9.sock", "/tmp/nonexistent/x%00y",
         "/tmp/nonexistent/a?b.sock"]
# queries for gluster+unix URIs (UNIX_QUERIES) and for all others
UNIX_QUERIES = [(None, 6), ("socket={s}", 100), ("", 3), ("socket=", 3),
                ("socket", 2), ("socket={s}&socket={s}", 2),
                ("socket={s};x=1", 2), ("socket={s}&&", 2),
                ("&socket={s}", 2), ("socket={s}&x=1", 2), ("x=1", 2),
                ("=x", 1), ("=", 1), ("SOCKET={s}", 1), ("%73ocket={s}", 1),
                ("socket={s};", 1), (";socket={s}", 1), ("socket={s}&=x", 1),
                ("=x&socket={s}", 1), ("sock={s}", 1)]
OTHER_QUERIES = [(None, 85), ("socket={s}", 4), ("", 3), ("x=1", 1),
                 ("&", 1), ("=x", 1), (";", 1), ("x", 1)]
FRAGMENTS = [(None, 120), ("frag", 8), ("", 3), ("a#b", 2), ("a b", 1),
             ("f[1]", 1)]
MUTATION_CHARS = list("/:@[]%?#&;=+, \"\\.-_~'") + ["é", "%2F", "%00",
                                                    "%zz", "//", "%25"]


def pick(rng, table):
    items, weights = zip(*table)
    return rng.choices(items, weights)[0]


def gen_uri(rng):
    scheme = pick(rng, SCHEMES)
    sep = pick(rng, SEPS) if scheme else "//"
    if sep in ("://", "//"):
        s = (scheme + ":" if scheme else "") + "//"
        ui = pick(rng, USERINFO)
        if ui is not None:
            s += ui + "@"
        unix = "unix" in scheme.lower()
        # gluster+unix takes no host or port: mostly leave them out
        s += "" if unix and rng.random() < 0.85 else pick(rng, HOSTS)
        port = None if unix and rng.random() < 0.9 else pick(rng, PORTS)
        if port is not None:
            s += ":" + port
        s += "/"
    elif sep == ":///":
        s = scheme + ":///"
    elif sep == ":/":
        s = scheme + ":/"
    else:
        s = scheme + ":"
    # volume, separator(s), image path
    s += pick(rng, VOLUMES)
    r = rng.random()
    if r < 0.85:
        s += "/"
    elif r < 0.95:
        s += "//"
    # else: no separator at all
    nseg = rng.choices([0, 1, 2, 3, 4], [3, 70, 17, 7, 3])[0]
    segs = [pick(rng, SEGMENTS) for _ in range(nseg)]
    s += ("//" if rng.random() < 0.05 else "/").join(segs)
    if rng.random() < 0.06:
        s += "/"
    q = pick(rng, UNIX_QUERIES if "unix" in scheme.lower()
             else OTHER_QUERIES)
    if q is not None:
        s += "?" + q.replace("{s}", rng.choice(SOCKS), 1).replace(
            "{s}", rng.choice(SOCKS))
    f = pick(rng, FRAGMENTS)
    if f is not None:
        s += "#" + f
    return s


def mutate(rng, s):
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if not s:
            break
        op = rng.random()
        i = rng.randrange(len(s) + 1)
        if op < 0.35:
            s = s[:i] + rng.choice(MUTATION_CHARS) + s[i:]
        elif op < 0.55:
            s = s[:i] + s[i + 1:]
        elif op < 0.70:
            j = min(len(s), i + rng.randint(1, 4))
            s = s[:i] + s[i:j] + s[i:]          # duplicate a slice
        elif op < 0.80 and i < len(s):
            c = s[i]
            if c.isascii() and c.isalpha():
                s = s[:i] + c.swapcase() + s[i + 1:]
        elif op < 0.92 and i < len(s):
            c = s[i]                            # percent-encode one char
            enc = "".join("%%%02X" % b for b in c.encode("utf-8"))
            s = s[:i] + enc + s[i + 1:]
        else:
            s = s[:max(1, i)]                   # truncate
    return s


DOTTED_QUAD = re.compile(r"(?<![0-9])([0-9]{1,3})\.[0-9]{1,3}\.[0-9]{1,3}"
                         r"\.[0-9]{1,3}")


def safe(uri):
    """Never aim at anything but loopback or a non-existent socket, even
    though the namespace has no route anywhere."""
    if any(c in uri for c in "\t\n\r\0"):
        return False
    dec = pct_decode(pct_decode(uri))
    for m in DOTTED_QUAD.finditer(dec):
        if m.group(1) not in ("127", "999"):
            return False
    for lit in re.findall(r"\[([^\]]*)\]", dec):
        try:
            a = ipaddress.IPv6Address(lit.split("%")[0])
        except ValueError:
            continue            # not an address at all
        v4 = a.ipv4_mapped
        if not (a.is_loopback or a.is_link_local
                or (v4 is not None and v4.is_loopback)):
            return False
    for m in re.finditer(r"socket[^=&;#]*=([^&;#]*)", dec):
        path = m.group(1)
        if path and os.path.exists(path):
            return False
    return True


def generate(seed, count):
    rng = random.Random(seed)
    seen, out = set(), []
    attempts = 0
    while len(out) < count and attempts < count * 50:
        attempts += 1
        u = gen_uri(rng)
        if rng.random() < 0.3:
            u = mutate(rng, u)
        if u in seen or not u or not safe(u):
            continue
        seen.add(u)
        out.append(u)
    return out


# ---------------------------------------------------------------------------
# Table (probe-qemu.sh output) encoding
# ---------------------------------------------------------------------------
COLUMNS = ["uri", "qemu", "transport", "host", "port", "volume", "path",
           "socket", "qemu_message"]


def tsv_escape(s):
    """The field escaping of probe-qemu.sh (see its header comment)."""
    if s is None or s == "":
        return "-"
    if s == "-":
        return "\\x2d"
    raw = s.encode("utf-8", "surrogateescape")
    try:
        raw.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    out = []
    for i, c in enumerate(raw):
        if c == 0x5C:
            out.append("\\\\")
        elif c == 9:
            out.append("\\t")
        elif c == 10:
            out.append("\\n")
        elif c == 13:
            out.append("\\r")
        elif c < 0x20 or c == 0x7F or (c >= 0x80 and not utf8) \
                or (i == 0 and c == 0x23):
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
    text = "".join(out)
    # bytes >= 0x80 of valid UTF-8 were appended one by one; rebuild them
    return text.encode("latin-1").decode("utf-8") if utf8 else text


def tsv_unescape(field, dash_is_empty=True):
    if dash_is_empty and field == "-":
        return None
    b = field.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):
            n = b[i + 1]
            if n == 0x5C:
                out.append(0x5C); i += 2; continue
            if n == ord("t"):
                out.append(9); i += 2; continue
            if n == ord("n"):
                out.append(10); i += 2; continue
            if n == ord("r"):
                out.append(13); i += 2; continue
            if n == ord("x") and re.match(rb"[0-9a-fA-F]{2}", b[i + 2:i + 4]):
                out.append(int(b[i + 2:i + 4], 16)); i += 4; continue
        out.append(c)
        i += 1
    return out.decode("utf-8", "surrogateescape")


def parse_rows(lines):
    rows = {}
    header_seen = False
    for line in lines:
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if cols[0] == "uri" and not header_seen:
            header_seen = True
            continue
        # the vector table carries one more column, gluvirt's expectation
        cols = cols[:len(COLUMNS)]
        if len(cols) != len(COLUMNS):
            raise SystemExit("qemu-differential: malformed row: %r" % line)
        row = {k: tsv_unescape(v) for k, v in zip(COLUMNS, cols)}
        row["uri"] = tsv_unescape(cols[0], dash_is_empty=False)
        rows[row["uri"]] = row
    return rows


def run_qemu(uris, args):
    probe = args.probe or os.path.join(HERE, "probe-qemu.sh")
    cmd = ["bash", probe, "-n", args.netns, "-j", str(args.jobs)]
    data = "".join(tsv_escape(u) + "\n" for u in uris)
    with tempfile.TemporaryDirectory(prefix="gluvirt-uridiff.") as cwd:
        # an empty working directory: relative names never hit a real file
        p = subprocess.run(cmd, input=data.encode("utf-8", "surrogateescape"),
                           stdout=subprocess.PIPE, cwd=cwd, check=False)
    if p.returncode != 0:
        raise SystemExit("qemu-differential: probe-qemu.sh failed (exit %d)"
                         % p.returncode)
    rows = parse_rows(p.stdout.decode("utf-8", "surrogateescape")
                      .splitlines())
    missing = [u for u in uris if u not in rows]
    if missing:
        raise SystemExit("qemu-differential: no QEMU result for %r"
                         % missing[0])
    return rows


# ---------------------------------------------------------------------------
# gluvirt side
# ---------------------------------------------------------------------------
def run_gluvirt(prog, uri):
    try:
        p = subprocess.run([prog, "uri", "--json", uri],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return {"verdict": "error", "message": "timeout"}
    out = p.stdout.decode("utf-8", "surrogateescape")
    err = p.stderr.decode("utf-8", "surrogateescape").strip()
    if p.returncode == 0:
        try:
            obj = json.loads(out)
        except ValueError as e:
            return {"verdict": "error", "message": "bad JSON (%s): %r"
                    % (e, out[:200])}
        if not isinstance(obj, dict):
            return {"verdict": "error", "message": "JSON is not an object"}
        return {"verdict": "ok", "json": obj}
    if p.returncode == 1:
        return {"verdict": "invalid", "message": err.splitlines()[0]
                if err else "(no message)"}
    return {"verdict": "error", "message": "exit %d: %s"
            % (p.returncode, err[:200])}


def norm_qemu(row):
    host = row["host"]
    if row["transport"] == "tcp":
        if host is None:
            host = ""           # QEMU passed an empty host (from %00)
        if host.startswith("[") and host.endswith("]") and len(host) > 2:
            host = host[1:-1]
        port = row["port"] or "24007"
    else:
        host, port = None, None
    return {"transport": row["transport"], "host": host, "port": port,
            "volume": row["volume"], "path": row["path"],
            "socket": row["socket"] or None}


def norm_gluvirt(obj):
    t = obj.get("transport")
    t = {"rdma": "tcp", "inet": "tcp"}.get(t, t)
    host, port = obj.get("host"), obj.get("port")
    if t == "tcp":
        if host in (None, ""):
            host = "localhost"  # absent host
        if isinstance(host, str) and host.startswith("[") \
                and host.endswith("]") and len(host) > 2:
            host = host[1:-1]
        if port in (None, "", 0, "0"):
            port = 24007
        port = str(port)
    else:
        host, port = None, None
    return {"transport": t, "host": host, "port": port,
            "volume": obj.get("volume"), "path": obj.get("path"),
            "socket": obj.get("socket") or None}


def compare(uri, qrow, grun):
    """Returns (kind, detail): kind is 'pass', 'deviation' or 'fail'."""
    qv, gv = qrow["qemu"], grun["verdict"]
    if gv == "error" or qv not in ("ok", "invalid"):
        return "fail", None, "tool error"
    if qv == gv == "invalid":
        return "pass", None, ""
    if qv == "ok" and gv == "ok":
        a, b = norm_qemu(qrow), norm_gluvirt(grun["json"])
        diff = [k for k in a if a[k] != b[k]]
        if not diff:
            return "pass", None, ""
        outcome = "fields"
        detail = ", ".join("%s: qemu %r, gluvirt %r" % (k, a[k], b[k])
                           for k in diff)
    elif qv == "ok":
        outcome, detail = "rejects", "gluvirt rejects what QEMU accepts"
    else:
        outcome, detail = "accepts", "gluvirt accepts what QEMU rejects"
    parts = split_uri(uri)
    for name, allowed, pred, _comment in DEVIATIONS:
        try:
            hit = pred(parts, qrow)
        except Exception:       # a predicate must never crash the run
            hit = False
        if hit and outcome in allowed:
            return "deviation", name, detail
    return "fail", None, detail


def describe_qemu(row):
    if row["qemu"] == "ok":
        f = norm_qemu(row)
        return "ok " + json.dumps(f, ensure_ascii=False)
    return "%s (%s)" % (row["qemu"], row["qemu_message"])


def describe_gluvirt(g):
    if g["verdict"] == "ok":
        return "ok " + json.dumps(g["json"], ensure_ascii=False)
    return "%s (%s)" % (g["verdict"], g.get("message"))


# ---------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(
        description="differential test: gluvirt uri --json vs. qemu-img")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--jobs", type=int, default=8,
                    help="parallel probes / gluvirt runs (default 8)")
    ap.add_argument("--netns", default="gluvirt-uridiff",
                    help="network namespace created for the probes")
    ap.add_argument("--probe", help="path of probe-qemu.sh")
    ap.add_argument("--table",
                    help="use recorded QEMU results (a vector table such as "
                    "qemu-7.2-vectors.tsv) instead of generating URIs and "
                    "running qemu-img")
    ap.add_argument("--qemu-only", action="store_true",
                    help="only run QEMU and print its verdicts as TSV rows")
    ap.add_argument("--print-uris", action="store_true",
                    help="only print the generated URIs, one per line")
    ap.add_argument("--show-deviations", action="store_true",
                    help="also list each deliberate deviation")
    args = ap.parse_args()

    if args.table:
        with open(args.table, encoding="utf-8",
                  errors="surrogateescape") as f:
            qrows = parse_rows(f)
        uris = list(qrows)
    else:
        uris = generate(args.seed, args.count)
        if args.print_uris:
            for u in uris:
                print(tsv_escape(u))
            return 0
        qrows = None

    gluvirt = os.environ.get("GLUVIRT")
    if not args.qemu_only and not gluvirt:
        print("qemu-differential: set GLUVIRT to the gluvirt program "
              "(or use --qemu-only)", file=sys.stderr)
        return 2

    if qrows is None:
        qrows = run_qemu(uris, args)

    if args.qemu_only:
        print("\t".join(COLUMNS))
        counts = {}
        for u in uris:
            r = qrows[u]
            counts[r["qemu"]] = counts.get(r["qemu"], 0) + 1
            print("\t".join(tsv_escape(r[c]) for c in COLUMNS))
        print("qemu-differential: qemu-only, %d URIs: %s" % (
            len(uris), ", ".join("%d %s" % (n, k)
                                 for k, n in sorted(counts.items()))))
        return 0

    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        gruns = dict(zip(uris, ex.map(lambda u: run_gluvirt(gluvirt, u),
                                      uris)))

    passed = failed = 0
    deviations = {}
    for u in uris:
        kind, name, detail = compare(u, qrows[u], gruns[u])
        if kind == "pass":
            passed += 1
        elif kind == "deviation":
            deviations[name] = deviations.get(name, 0) + 1
            if args.show_deviations:
                print("DEVIATION %s: %s" % (name, tsv_escape(u)))
        else:
            failed += 1
            print("FAIL %s" % tsv_escape(u))
            print("  qemu:    %s" % describe_qemu(qrows[u]))
            print("  gluvirt: %s" % describe_gluvirt(gruns[u]))
            if detail:
                print("  %s" % detail)

    ndev = sum(deviations.values())
    print("qemu-differential: %d deliberate deviations%s" % (
        ndev, (" (" + ", ".join("%s %d" % kv for kv in
                                sorted(deviations.items())) + ")")
        if ndev else ""))
    print("qemu-differential: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
