"""Read libgluvirt's public headers: the functions they declare (with the
comment that documents each), the enums, the opaque types, the callback
types and the #define constants.

Two users: docs/header-to-scd.py, which writes the section 3 man pages from
the header comments, and tests/python/test_prototypes.py, which checks the
Python binding's ctypes prototypes against the declarations.  The parser
knows the header style of this project (one declaration per statement,
GLUVIRT_API in front of every exported function), not C in general.
"""

import re
import sys
from dataclasses import dataclass, field
from typing import List, Optional, Tuple


@dataclass
class Comment:
    text: str


@dataclass
class Function:
    name: str
    returns: str                    # normalised C type: "const char *", "int64_t", ...
    params: List[Tuple[str, str]]   # (normalised type, name)
    declaration: str                # the declaration as one line
    doc: Optional[str] = None       # the comment block it follows


@dataclass
class Enum:
    name: str
    members: List[Tuple[str, int, str]]  # (name, value, trailing comment)
    declaration: str
    doc: Optional[str] = None


@dataclass
class Opaque:
    name: str
    declaration: str
    doc: Optional[str] = None


@dataclass
class Callback:
    name: str
    returns: str
    params: List[Tuple[str, str]]
    declaration: str
    doc: Optional[str] = None


@dataclass
class Define:
    name: str
    value: str
    comment: str
    doc: Optional[str] = None


@dataclass
class Header:
    path: str
    intro: str = ""
    items: list = field(default_factory=list)  # Comment and declarations, in order

    def of(self, kind):
        return [item for item in self.items if isinstance(item, kind)]


def clean_comment(body):
    """A comment's text without its frame (the " * " in front of each line),
    keeping the indentation of its lines relative to each other."""
    lines = body.split("\n")
    framed, out = [], []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith("*"):
            stripped = stripped[1:]
            out.append(stripped[1:] if stripped.startswith(" ") else stripped)
            framed.append(True)
        else:
            out.append(line)
            framed.append(False)
    out = [line.rstrip() for line in out]
    out[0] = out[0].strip()
    # unframed lines under text that starts on the "/*" line: drop their
    # common indentation
    loose = [i for i in range(1, len(out)) if not framed[i] and out[i].strip()]
    if loose:
        cut = min(len(out[i]) - len(out[i].lstrip()) for i in loose)
        for i in loose:
            out[i] = out[i][cut:]
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def normalise_type(text):
    """'const  gluvirt_uri*' -> 'const gluvirt_uri *'."""
    text = re.sub(r"\s+", " ", text.strip())
    text = re.sub(r"\s*\*\s*", " *", text)
    return text.strip()


def split_param(text):
    """'const gluvirt_uri *uri' -> ('const gluvirt_uri *', 'uri')."""
    text = re.sub(r"\s+", " ", text.strip())
    if text == "void":
        return None
    match = re.match(r"^(.*?)([A-Za-z_][A-Za-z_0-9]*)$", text)
    if not match or not match.group(1).strip():
        raise ValueError("cannot read parameter %r" % text)
    return normalise_type(match.group(1)), match.group(2)


def split_params(text):
    params = [split_param(part) for part in text.split(",")] if text.strip() else []
    return [p for p in params if p is not None]


def _strip_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def _parse_enum(statement):
    match = re.match(r"typedef\s+enum\s+(\w+)?\s*\{(.*)\}\s*(\w+)\s*;$", statement, re.S)
    if not match:
        raise ValueError("cannot read enum: %s" % statement[:60])
    members, value = [], -1
    body = match.group(2)
    # each member up to its comma, with the comment that trails it
    for entry in re.finditer(r"(\w+)\s*(?:=\s*([-\w]+))?\s*,?\s*(?:/\*(.*?)\*/)?", body, re.S):
        name, given, comment = entry.groups()
        value = int(given.rstrip("uUlL"), 0) if given else value + 1
        members.append((name, value, re.sub(r"\s+", " ", (comment or "").strip())))
    declaration = re.sub(r"[ \t]+\n", "\n", statement)
    return Enum(match.group(3), members, declaration)


def _parse_statement(statement):
    flat = re.sub(r"\s+", " ", _strip_comments(statement)).strip()
    if flat.startswith("typedef enum"):
        return _parse_enum(statement.strip())
    match = re.match(r"^typedef struct (\w+) (\w+);$", flat)
    if match:
        return Opaque(match.group(2), flat)
    match = re.match(r"^typedef (.+?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\);$", flat)
    if match:
        return Callback(match.group(2), normalise_type(match.group(1)),
                        split_params(match.group(3)), flat)
    match = re.match(r"^GLUVIRT_API (.+?)\b(\w+)\s*\((.*)\);$", flat)
    if match:
        return Function(match.group(2), normalise_type(match.group(1)),
                        split_params(match.group(3)), flat)
    raise ValueError("cannot read declaration: %s" % flat)


def parse(path):
    """The Header in path."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    header = Header(path)
    i, n = 0, len(text)
    doc = None          # the comment the next declarations belong to
    first_comment = True
    while i < n:
        if text[i].isspace():
            if text[i] == "\n" and text[i + 1:i + 2] == "\n":
                pass
            i += 1
            continue
        if text.startswith("/*", i):
            end = text.index("*/", i)
            comment = clean_comment(text[i + 2:end])
            i = end + 2
            if first_comment:
                header.intro, first_comment = comment, False
                continue
            header.items.append(Comment(comment))
            doc = comment
            continue
        if text[i] == "#":
            end = i
            while True:
                end = text.find("\n", end)
                if end < 0:
                    end = n
                    break
                if text[end - 1] != "\\":
                    break
                end += 1
            line = text[i:end]
            i = end
            match = re.match(r"#define\s+(GLUVIRT_\w+)\s+(.+?)\s*(?:/\*(.*?)\*/)?\s*$", line)
            if match and not match.group(1).endswith("_H") and match.group(1) != "GLUVIRT_API":
                header.items.append(Define(match.group(1), match.group(2).strip(),
                                           (match.group(3) or "").strip(), doc))
            continue
        if text.startswith('extern "C" {', i):
            i += len('extern "C" {')
            continue
        if text[i] == "}":
            i += 1
            continue
        # a declaration: up to ';' outside braces
        depth, j = 0, i
        while j < n:
            if text.startswith("/*", j):
                j = text.index("*/", j) + 2
                continue
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
            elif text[j] == ";" and depth == 0:
                break
            j += 1
        item = _parse_statement(text[i:j + 1])
        item.doc = doc
        header.items.append(item)
        i = j + 1
        # a blank line after a declaration ends its comment's reach
        k = i
        while k < n and text[k] in " \t":
            k += 1
        if text.startswith("\n\n", k) or text.startswith("\n\r\n", k):
            doc = None
    return header


def functions(paths):
    """Every GLUVIRT_API function of the headers in paths, by name."""
    found = {}
    for path in paths:
        for function in parse(path).of(Function):
            found[function.name] = function
    return found


if __name__ == "__main__":
    for header_path in sys.argv[1:]:
        parsed = parse(header_path)
        for item in parsed.items:
            if not isinstance(item, Comment):
                print(type(item).__name__, getattr(item, "name", ""),
                      getattr(item, "returns", ""), getattr(item, "params", ""))
